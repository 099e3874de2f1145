"""Can the run write where it was told to? Checked before any worker starts.

A report path that cannot be written would otherwise be found only after a run of many
minutes, as a traceback. The checks are what the operating system will do when the file
is opened: the parent directory exists and is a directory, the path is not a directory,
and `os.access` grants writing. `os.access` answers for the real user; for root it grants
writing to read-only directories, as root's `open` then succeeds too.
"""

import os
from pathlib import Path

from conformance.base.usage import UsageError


def check_file(option, path):
    """UsageError unless `path` can be created or overwritten as a file."""
    given = Path(path)
    target = Path(os.path.abspath(given))
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"{option} {given}: is a directory, not a file")
    if not parent.is_dir():
        blocker = _first_file(parent)
        if blocker is not None:
            raise UsageError(f"{option} {given}: {blocker} is a file, not a directory")
        raise UsageError(f"{option} {given}: the directory {parent} does not exist")
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"{option} {given}: the file is not writable")
    if not target.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {given}: cannot create a file in {parent} (not writable)")


def check_directory(option, path):
    """UsageError unless `path` is, or can be created as, a writable directory."""
    given = Path(path)
    target = Path(os.path.abspath(given))
    if target.exists() and not target.is_dir():
        raise UsageError(f"{option} {given}: is a file, not a directory")
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {given}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {given}: {existing} is not writable")


def check_distinct(paths):
    """UsageError when two options name the same file ({option: path}; None is not given)."""
    seen = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} name the same file {path}")
        seen[key] = option


def _first_file(path):
    """The first component of `path` that exists and is a file (why it is no directory), or None."""
    for candidate in reversed([path, *path.parents]):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None
