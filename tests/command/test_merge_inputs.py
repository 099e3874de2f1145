"""`merge` reads reports as data (issue 39): a field of the wrong type, an unknown outcome
or status, JSON nested without end are one line and exit 2; an error row is kept and an
interrupted report fails, so nothing passes silently. In process: merge starts nothing."""

import copy
import json
import re
from pathlib import Path

import pytest

from conformance import cli

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD = json.loads((DATA / "report-keras-numpy.json").read_text())


def first_result(report):
    return report["backends"][0]["results"][0]


def changed(edit):
    report = copy.deepcopy(GOOD)
    edit(report)
    return report


MALFORMED = {
    "unknown outcome": (lambda r: first_result(r).update(outcome="weird"), "outcome 'weird' is not one of"),
    "unknown status": (lambda r: r["backends"][0].update(status="fine"), "status 'fine' is not one of"),
    "areas a number": (lambda r: first_result(r).update(areas=5), "areas is int, not list"),
    "areas of numbers": (lambda r: first_result(r).update(areas=[1]), "areas is not a list of strings"),
    "summary an object": (lambda r: first_result(r).update(summary={"a": 1}), "summary is an object, not str"),
    "example a list": (lambda r: first_result(r).update(example=[1]), "example is a list, not dict"),
    "replay a string": (lambda r: first_result(r).update(replay="yes"), "replay is a string"),
    "excused a bool": (lambda r: first_result(r).update(excused=True), "excused is a bool"),
    "version a number": (lambda r: r["backends"][0].update(version=3), "version is int"),
    "speed seconds text": (lambda r: next(iter(r["backends"][0]["speed"].values())).update(seconds="x"), "not a number"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_report_is_one_line_exit_2(tmp_path, capsys, name):
    edit, said = MALFORMED[name]
    (tmp_path / "r.json").write_text(json.dumps(changed(edit)))
    assert cli.main(["merge", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_json_nested_without_end_is_one_line(tmp_path, capsys, text):
    (tmp_path / "deep.json").write_text(text)
    assert cli.main(["merge", str(tmp_path / "deep.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("path", ["/dev/zero", "fifo"])
def test_a_report_that_is_no_regular_file_is_refused_at_once(tmp_path, capsys, path):
    import os

    if path == "fifo":
        os.mkfifo(tmp_path / "fifo")
        path = str(tmp_path / "fifo")
    assert cli.main(["merge", path]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_an_error_row_is_kept_and_fails_the_merge(tmp_path, capsys):
    with_error = changed(lambda r: r["backends"].append(
        {"name": "keras-jax", "modes": ["eager"], "status": "error", "reason": "worker died", "results": []}))
    other = changed(lambda r: r["backends"][0].update(name="keras-jax"))
    (tmp_path / "a.json").write_text(json.dumps(with_error))
    (tmp_path / "b.json").write_text(json.dumps(other))
    assert cli.main(["merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
    assert "error: keras-jax" in capsys.readouterr().out


def test_an_interrupted_report_fails_the_merge(tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps(changed(lambda r: r.update(interrupted=True))))
    assert cli.main(["merge", str(tmp_path / "r.json")]) == 1
    assert "interrupted" in capsys.readouterr().out.strip().splitlines()[-1]


def test_the_report_unchanged_merges(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(GOOD))
    assert cli.main(["merge", str(tmp_path / "r.json")]) == 0


@pytest.mark.parametrize("name", ["a|b", "x\ny", "<script>alert(1)</script>", "`tick`", "```fence"])
def test_names_from_a_report_stay_inside_their_markdown_cell(tmp_path, name):
    (tmp_path / "r.json").write_text(json.dumps(changed(lambda r: r["backends"][0].update(name=name))))
    assert cli.main(["merge", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "m.md")]) == 0
    lines = (tmp_path / "m.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| backend [mode] |"))
    rows = [line for line in lines if line.startswith("| `")]
    assert rows and all(line.replace("\\|", "").count("|") == header.count("|") for line in rows)
    text = re.sub(r"^```$.*?^```$", "", "\n".join(lines), flags=re.S | re.M)  # fenced blocks render no HTML
    assert "<script>" not in re.sub(r"`[^`\n]*`", "", text)  # nor do code spans; everywhere else it is escaped


NESTED = {
    "example without repr": (lambda r: first_result(r).update(example={"options": {}}), "example has no repr string"),
    "resembles of strings": (lambda r: first_result(r).update(resembles=["x"]), "resembles is not a list of"),
    "coverage without lists": (lambda r: first_result(r).update(coverage={"uncovered": 3}), "coverage is not"),
    "code of strings": (lambda r: r["backends"][0].update(code=["keras"]), "code is not a list of"),
    "declared underneath of numbers": (lambda r: first_result(r).update(declared_underneath=[1]), "declared_underneath is not"),
}


@pytest.mark.parametrize("name", list(NESTED))
def test_a_malformed_nested_field_is_one_line_exit_2(tmp_path, capsys, name):
    edit, said = NESTED[name]
    (tmp_path / "r.json").write_text(json.dumps(changed(edit)))
    assert cli.main(["merge", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
