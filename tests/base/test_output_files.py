"""Outputs that hold (conformance/base/output_paths.py, issue 39): what is refused before
the run is what would fail after it (a link loop, a dangling link, a FIFO), two outputs or
an output and an input are compared by the file they are (links, hard links), and a file
is written whole or not at all, a full disk said in one line with what was kept."""

import errno
import os

import pytest

from conformance.base import output_paths
from conformance.base.usage import UsageError


def _loop(tmp_path):
    os.symlink(tmp_path / "b.json", tmp_path / "a.json")
    os.symlink(tmp_path / "a.json", tmp_path / "b.json")
    return tmp_path / "a.json"


def _dangling(tmp_path):
    os.symlink(tmp_path / "nowhere" / "r.json", tmp_path / "r.json")
    return tmp_path / "r.json"


def _fifo(tmp_path):
    os.mkfifo(tmp_path / "r.json")
    return tmp_path / "r.json"


@pytest.mark.parametrize("make, said", [(_loop, "symbolic link loop"), (_dangling, "dangling symbolic link"),
                                        (_fifo, "not a regular file"), (lambda p: "/dev/null", "not a regular file")],
                         ids=["loop", "dangling", "fifo", "device"])
def test_an_output_that_cannot_be_written_as_a_file_is_refused_before_the_run(tmp_path, make, said):
    with pytest.raises(UsageError, match=said):
        output_paths.check_file("--report", make(tmp_path))


def _hard_link(tmp_path):
    (tmp_path / "a").write_text("{}")
    os.link(tmp_path / "a", tmp_path / "b")
    return tmp_path / "a", tmp_path / "b"


def _symlink(tmp_path):
    (tmp_path / "a").write_text("{}")
    os.symlink(tmp_path / "a", tmp_path / "b")
    return tmp_path / "a", tmp_path / "b"


def _dotted(tmp_path):
    return tmp_path / "a", tmp_path / "." / "a"


@pytest.mark.parametrize("make", [_hard_link, _symlink, _dotted], ids=["hard-link", "symlink", "same-path"])
def test_two_outputs_naming_one_file_are_refused(tmp_path, make):
    first, second = make(tmp_path)
    with pytest.raises(UsageError, match="name the same file"):
        output_paths.check_distinct({"--report": str(first), "--markdown": str(second)})


@pytest.mark.parametrize("make", [_hard_link, _symlink, _dotted], ids=["hard-link", "symlink", "same-path"])
def test_an_output_naming_an_input_is_refused(tmp_path, make):
    known, output = make(tmp_path)
    (tmp_path / "a").write_text("[[divergence]]\n") if not (tmp_path / "a").exists() else None
    with pytest.raises(UsageError, match="would be overwritten"):
        output_paths.check_distinct({"--report": str(output)}, inputs={"--extra-known": [str(known)]})


def test_a_full_disk_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("previous")

    def full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(output_paths.OutputError) as failed:
        output_paths.write_atomic(target, "x" * 10_000, "--report")
    assert str(failed.value) == f"cannot write --report {target}: No space left on device (the previous file is kept)"
    assert target.read_text() == "previous" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_new_file_on_a_full_disk_says_nothing_was_written(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda d: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(output_paths.OutputError, match="nothing was written there"):
        output_paths.write_atomic(tmp_path / "new.json", "{}", "--report")
    assert list(tmp_path.iterdir()) == []


def test_a_written_file_replaces_the_old_one_whole(tmp_path):
    output_paths.write_atomic(tmp_path / "r.json", "new", "--report")
    assert (tmp_path / "r.json").read_text() == "new"
