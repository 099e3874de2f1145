"""`rnn-conformance merge` (conformance/command/merge_command.py) on two real reports (rows of
the default run of 2026-12-02, split in two files): one matrix, one verdict; the same row
twice, and malformed input, are one line and exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # each test runs rnn-conformance merge

DATA = Path(__file__).resolve().parents[1] / "data"
A, B = DATA / "report-reference.json", DATA / "report-keras-numpy.json"


def merge(*arguments):
    return subprocess.run([sys.executable, "-m", "conformance", "merge", *map(str, arguments)],
                          capture_output=True, text=True, timeout=120)


def test_two_reports_become_one_matrix_and_report(tmp_path):
    out = tmp_path / "merged.json"
    result = merge(A, B, "--report", out, "--markdown", tmp_path / "m.md")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference [eager]" in result.stdout and "keras-numpy [eager]" in result.stdout
    merged = json.loads(out.read_text())
    assert [b["name"] for b in merged["backends"]] == ["reference", "keras-numpy"]
    assert merged["merged_from"] == [str(A), str(B)] and merged["exit_status"] == 0
    assert "keras-numpy" in (tmp_path / "m.md").read_text()


def test_the_same_row_in_two_reports_is_an_error():
    result = merge(A, A)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "reference [eager]" in lines[0] and "reported by both" in lines[0]


def test_a_new_divergence_in_one_report_makes_the_merge_exit_1(tmp_path):
    bad = json.loads(B.read_text())
    bad["backends"][0]["results"][0]["outcome"] = "fail"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert merge(A, path).returncode == 1


def test_the_same_backend_on_two_versions_is_two_rows(tmp_path):
    other = json.loads(B.read_text())
    other["backends"][0]["version"] = "keras 3.0.0"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(other))
    result = merge(B, path)
    assert result.returncode == 0, result.stderr
    assert "keras-numpy (keras 3.0.0)" in result.stdout and "keras-numpy (keras 3.15.1)" in result.stdout


@pytest.mark.parametrize("content, message", [(None, "No such file"), ("{", "not JSON"),
                                              ('{"schema": "other"}', "not an rnn-conformance report")])
def test_malformed_input_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    result = merge(A, path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
