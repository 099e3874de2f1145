"""Can the run write where it was told to? Checked before any worker starts; and the
writing itself (`write_atomic`).

A report path that cannot be written would otherwise be found only after a run of many
minutes, as a traceback. The checks are what the operating system will do when the file
is opened, on the path with its links resolved (a link loop or a dangling link is refused
now, not after the run): the parent directory exists and is a directory, the path is a
regular file or absent, and `os.access` grants writing. `os.access` answers for the real
user; for root it grants writing to read-only directories, as root's `open` then succeeds
too. Two options naming one file (the same path, a link, a hard link) are refused, and so
is an output that is one of the run's inputs (`check_distinct`). A file is written whole
or not at all: a temporary file beside it, renamed over it.
"""

import os
import stat
import tempfile
from pathlib import Path

from conformance.base.usage import UsageError


class OutputError(OSError):
    """A file the run was asked to write could not be written (one line, what was kept)."""


def resolved(option, path):
    """The absolute path `path` names, its links followed; UsageError for a loop or a
    dangling link (writing through one would fail, or create a file elsewhere)."""
    given = Path(path)
    if os.path.islink(given) and not os.path.exists(given):
        try:
            given.resolve(strict=True)
        except RuntimeError:  # Python 3.11 says "Symlink loop"
            raise UsageError(f"{option} {given}: a symbolic link loop") from None
        except OSError as error:
            if error.errno == 40:  # ELOOP
                raise UsageError(f"{option} {given}: a symbolic link loop") from None
        raise UsageError(f"{option} {given}: a dangling symbolic link (its target {os.readlink(given)} does not exist)")
    try:
        return Path(os.path.abspath(given)).resolve()
    except (RuntimeError, OSError):
        raise UsageError(f"{option} {given}: a symbolic link loop") from None


def check_file(option, path):
    """UsageError unless `path` can be created or overwritten as a regular file."""
    given = Path(path)
    target = resolved(option, given)
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"{option} {given}: is a directory, not a file")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise UsageError(f"{option} {given}: exists and is not a regular file (a FIFO, a device?)")
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


def check_distinct(paths, inputs=None):
    """UsageError when two options name the same file ({option: path}; None is not given),
    or an output names one of the `inputs` ({option: path or [paths]}): by identity, so a
    link or a hard link to the same file counts."""
    seen = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = _identity(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} name the same file {path}")
        seen[key] = option
    for option, given in (inputs or {}).items():
        for path in [given] if isinstance(given, (str, os.PathLike)) else given or ():
            if _identity(path) in seen:
                raise UsageError(f"{seen[_identity(path)]} names {path}, the file given to {option}: it would be overwritten")


def _identity(path):
    """(device, inode) of an existing file, else its resolved path."""
    try:
        found = os.stat(path)
        return found.st_dev, found.st_ino
    except (OSError, ValueError):
        return os.path.realpath(path)


def write_atomic(path, text, what):
    """Write `text` to `path` whole (a temporary file beside it, renamed over it), or raise
    OutputError saying what was kept: a full disk leaves the previous file, not half a new one."""
    target = Path(os.path.realpath(path))
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        kept = "the previous file is kept" if target.exists() else "nothing was written there"
        raise OutputError(f"cannot write {what} {path}: {error.strerror or error} ({kept})") from None


def _first_file(path):
    """The first component of `path` that exists and is a file (why it is no directory), or None."""
    for candidate in reversed([path, *path.parents]):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None
