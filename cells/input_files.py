"""Reading a file the user named (a case, a known-divergence file, a report) as data.

Every such read goes through `read_text`: a regular file only (a FIFO, a device such as
/dev/zero, a directory or a socket is refused before it is opened for reading, and again
on the open file, so a swap in between blocks nothing), at most `max_bytes` (a larger file
is refused, not read until memory runs out), UTF-8. Symbolic links are followed; a loop or
a dangling link is refused. Every refusal is one `InputFileError` line that shows at most
~80 characters of the path.
"""

import os
import stat

from cells.case_fields import short_path

MiB = 2**20


class InputFileError(ValueError):
    """A file that cannot be read as the data it should be (one line)."""


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _said(error):
    return error.strerror or str(error)


def read_text(path, what, max_bytes):
    """The UTF-8 text of the regular file at `path`, at most `max_bytes` long; else InputFileError."""
    name = short_path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise InputFileError(f"{what} {name}: {_said(error)}") from None
    except ValueError as error:  # a NUL in the path
        raise InputFileError(f"{what} {name}: {error}") from None
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{what} {name}: {_kind(mode)}, not a regular file")
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise InputFileError(f"{what} {name}: {_said(error)}") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise InputFileError(f"{what} {name}: not a regular file")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(descriptor, min(MiB, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise InputFileError(f"{what} {name}: {_said(error)}") from None
    finally:
        os.close(descriptor)
    if size > max_bytes:
        raise InputFileError(f"{what} {name}: larger than {max_bytes:,} bytes, the most it may be")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(f"{what} {name}: not UTF-8 text (byte {error.start})") from None
