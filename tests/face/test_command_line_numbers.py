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
