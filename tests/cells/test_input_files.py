"""Reading a file the user named (cells/input_files.py, issue 39): only a regular file,
at most its byte cap, UTF-8; every refusal is one InputFileError line, and nothing blocks
or reads without end."""

import os

import pytest

from cells.input_files import InputFileError, read_text


def _fifo(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    return tmp_path / "fifo"


def _loop(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    return tmp_path / "a"


def _dangling(tmp_path):
    os.symlink(tmp_path / "gone", tmp_path / "link")
    return tmp_path / "link"


def _big(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 2049)
    return tmp_path / "big"


def _latin1(tmp_path):
    (tmp_path / "latin1").write_bytes(b'{"a": "\xe9"}')
    return tmp_path / "latin1"


@pytest.mark.parametrize("make, said", [
    (_fifo, "a FIFO, not a regular file"),
    (lambda tmp_path: "/dev/zero", "a character device, not a regular file"),
    (lambda tmp_path: tmp_path, "a directory, not a regular file"),
    (_loop, "Too many levels of symbolic links"),
    (_dangling, "No such file"),
    (_big, "larger than 2,048 bytes"),
    (_latin1, "not UTF-8 text (byte 7)"),
    (lambda tmp_path: tmp_path / "missing", "No such file"),
    (lambda tmp_path: "bad\0path", "embedded null"),
], ids=["fifo", "device", "directory", "link-loop", "dangling-link", "too-big", "not-utf8", "missing", "nul"])
def test_anything_but_a_small_regular_utf8_file_is_refused_in_one_line(tmp_path, make, said):
    with pytest.raises(InputFileError) as refused:
        read_text(make(tmp_path), "case", 2048)
    message = str(refused.value)
    assert said in message and "\n" not in message and len(message) <= 200, message


def test_a_long_path_is_cut_in_the_message(tmp_path):
    with pytest.raises(InputFileError) as refused:
        read_text(tmp_path / ("x" * 5000), "case", 2048)
    assert len(str(refused.value)) <= 200


def test_a_regular_file_within_the_cap_is_read(tmp_path):
    (tmp_path / "ok.json").write_text('{"é": 1}', encoding="utf-8")
    assert read_text(tmp_path / "ok.json", "case", 2048) == '{"é": 1}'
