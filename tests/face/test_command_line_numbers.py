"""Numbers and JSON on the command line are checked before use (issue 39): a count past
what any run could mean, digits without end, --cell-args with NaN, Infinity or nesting
without end are one line and exit 2, the value cut."""

import pytest

from cells.user_cell import UserCellError, parse_args
from conformance import cli


@pytest.mark.parametrize("arguments", [
    ["soak", "--seeds", "1000000000000"],
    ["soak", "--seeds", "0"],
    ["--max-examples", "9" * 5000],
    ["--jobs", "-3"],
    ["--example-timeout", "x" * 5000],
    ["--shrink-seconds", "-1"],
])
def test_a_number_out_of_bounds_is_one_short_line(capsys, arguments):
    assert cli.main(arguments) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and len(err[0]) <= 250, err


@pytest.mark.parametrize("text, said", [
    ('{"clip": Infinity}', "Infinity"),
    ('{"clip": -Infinity}', "-Infinity"),
    ('{"a": NaN}', "NaN"),
    ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
    ('{"a": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32"),
    ('{"a": "' + "x" * 200_000 + '"}', "characters long"),
])
def test_cell_arguments_a_reproducer_could_not_write_are_refused(text, said):
    with pytest.raises(UserCellError, match=said):
        parse_args(text)


def test_ordinary_cell_arguments_pass():
    assert parse_args('{"units": 3, "clip": 1e300, "names": ["a", {"b": [1, 2]}]}')


@pytest.mark.parametrize("text", ["100000", "3,3,3,3", "0", "3," * 50 + "3", "9" * 5000])
def test_an_input_shape_past_the_case_limits_is_refused(text):
    from cells.user_cell import parse_input_shape

    with pytest.raises(UserCellError, match="expected 1 to 3 integers from 1 to 256") as refused:
        parse_input_shape(text)
    assert len(str(refused.value)) <= 200


def test_known_update_reads_its_report_as_merge_does(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for report in ("fifo", "deep.json", "/dev/zero"):
        path = report if report.startswith("/") else str(tmp_path / report)
        assert cli.main(["known", "update", "--report", path]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
