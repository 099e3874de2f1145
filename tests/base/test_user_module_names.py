"""A user's module named like one of the suite's own packages (issue 35): `--cell
cells:MyCell` with a ./cells.py would import the suite's `cells`, so the command refuses
it in one line, exit 2, before any process starts; any other name gets past the check."""

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from conformance import cli
from conformance.replay import repro
from conformance.backends.layer_worker import remote_reference
from conformance.base.usage import SUITE_PACKAGES

REPOSITORY = Path(__file__).resolve().parents[2]
# The top-level packages the suite installs, as pyproject.toml finds them ("cells*" -> cells).
INSTALLED = sorted(pattern.rstrip("*") for pattern in
                   tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"])
SOURCES = {
    "--cell": ("TwoStateProjCell", "class TwoStateProjCell:\n    state_size = [2, 3]\n"),
    "--impl": ("rnn", "def rnn(step_function, inputs, initial_states, **options):\n    raise AssertionError\n"),
}
# A user-cell case of the suite's (a declared divergence's), to rename as a user's cell.
CELL_CASE = REPOSITORY / "conformance" / "known" / "layer-keras-numpy-state-mask-rank-crashes.json"


class Started(Exception):
    """A process would have started (a worker, the --impl probe): the check was passed."""


@pytest.fixture
def no_process(monkeypatch, tmp_path):
    """Run from tmp_path, where any process the command starts raises Started instead."""

    def start(*args, **kwargs):
        raise Started(args)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "Popen", start)
    monkeypatch.setattr(subprocess, "run", start)
    monkeypatch.setattr(remote_reference, "probe", start)  # (a worker started earlier would answer)


def command(tmp_path, option, module, *more):
    """`rnn-conformance OPTION MODULE:NAME` beside tmp_path/MODULE.py: (status, out lines, err lines)."""
    name, source = SOURCES[option]
    (tmp_path / f"{module}.py").write_text(source)
    rows = ["--backends", "layer-keras-numpy"] if option == "--cell" else []
    return cli.main([option, f"{module}:{name}", *rows, *more])


def test_the_suites_packages_are_the_ones_pyproject_installs():
    assert INSTALLED == sorted(SUITE_PACKAGES)


@pytest.mark.parametrize("module", INSTALLED)
@pytest.mark.parametrize("option", sorted(SOURCES))
def test_a_module_named_like_a_suite_package_is_refused_in_one_line(tmp_path, no_process, capsys, option, module):
    status = command(tmp_path, option, module)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2 and out == "", (status, out, err)
    assert len(lines) == 1, err
    target = f"{module}:{SOURCES[option][0]}"
    assert lines[0].startswith(f"rnn-conformance: error: {option} {target}: {module!r} is the name of one of "
                               "rnn-conformance's own packages"), lines[0]
    assert f"./{module}.py" in lines[0] and f"mypackage.{target}" in lines[0], lines[0]


@pytest.mark.parametrize("option", sorted(SOURCES))
def test_a_package_of_that_name_is_refused_too(tmp_path, no_process, capsys, option):
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / "__init__.py").write_text("")
    status = command(tmp_path, option, "cells.mine")
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "./cells/ package" in lines[0], lines


@pytest.mark.parametrize("option", sorted(SOURCES))
def test_another_name_gets_past_the_check(tmp_path, no_process, option):
    """mycells.py: the command goes on to probe it (in a process, which the fixture stops)."""
    with pytest.raises(Started):
        command(tmp_path, option, "mycells")


def test_pytest_refuses_it_as_a_usage_error(tmp_path, no_process):
    """The plugin parses --cell and --impl with the same checks (pytest --cell cells:C)."""
    from cells.user_cell import UserCellError, parse_cell_options
    from conformance.backends import register_impl
    from conformance.backends.impl import ImplError

    with pytest.raises(UserCellError, match="rnn-conformance's own packages"):
        parse_cell_options("cells:TwoStateProjCell", None, "3", None, None)
    with pytest.raises(ImplError, match="rnn-conformance's own packages"):
        register_impl("conformance:rnn", load=False)


def test_the_suites_own_cells_can_still_be_named(tmp_path, no_process):
    """conformance/known/known_cells ships the declared divergences' cells: they are the suite's to import."""
    from cells.user_cell import parse_cell_options

    parse_cell_options("conformance.known.known_cells.keras3:RankedStatesCell", None, "3", None, None)


def test_a_case_of_such_a_module_is_refused_before_its_reference_runs(tmp_path, no_process, capsys):
    """python -m conformance.repro CASE --cell cells:C: its reference would run the suite's `cells`."""
    case = json.loads(CELL_CASE.read_text())
    for example in (case["example"], case.get("diverging_example", case["example"])):
        for structure in [example["structure"]] + [spec["structure"] for spec in example["stacked"]]:
            structure["user_cell"].update(target="cells:RankedStatesCell", search_path="/where/it/ran")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert repro.main([str(path), "--cell", "cells:RankedStatesCell"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "'cells' is the name of one of rnn-conformance's own packages" in lines[0], lines
