"""A user-cell case (--cell) is data like every saved case (issue 19): it reads back
into the same example, a malformed field is one CaseError line, printing its reproducer
never imports the cell, and a declared entry's case may name only the suite's own cells
(conformance/known/known_cells)."""

import copy
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cells.case_schema import CaseError, check_case
from cells.serialize import example_from_dict, example_to_dict
from cells.user_cell import is_user_cell
from conformance.replay import repro
from conformance.known.ledger import KnownDivergenceError, load

REPOSITORY = Path(__file__).resolve().parents[2]
KNOWN = REPOSITORY / "conformance" / "known"
CASE = KNOWN / "layer-keras-numpy-state-mask-rank-crashes.json"  # RankedStatesCell, Bidirectional
STACKED = KNOWN / "layer-tf-keras-stacked-constants-per-cell-initial-state-crashes.json"  # two copies, constants


def saved(path=CASE):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", [CASE, STACKED])
def test_a_user_cell_case_reads_back_into_the_example_it_was_saved_from(path):
    case = saved(path)
    example = example_from_dict(check_case(case)["example"])
    assert is_user_cell(example.spec.structure)
    assert example_to_dict(example) == case["example"]


def _cell(case):
    return case["example"]["structure"]["user_cell"]


HOSTILE = {
    "code as the target": (lambda c: _cell(c).update(target="os:system('x')"), "is not MODULE:CLASS"),
    "a path as the module": (lambda c: _cell(c).update(target="../evil:Cell"), "is not MODULE:CLASS"),
    "arguments that are not JSON": (lambda c: _cell(c).update(args_json="{units: 2}"), "args_json: not JSON"),
    "arguments that are a list": (lambda c: _cell(c).update(args_json="[2]"), "must be a JSON object of keyword arguments"),
    "deeply nested arguments": (lambda c: _cell(c).update(args_json="[" * 100_000), "args_json"),
    "a search path that is not text": (lambda c: _cell(c).update(search_path=["/"]), "search_path"),
    "an unknown framework": (lambda c: _cell(c).update(framework="keras2"), "framework"),
    "no state": (lambda c: _cell(c).update(states=[]), "states"),
    "a weight of the wrong size": (lambda c: c["example"]["weights"][0].pop(), "weights[0]"),
    "a weight that is not a number": (lambda c: c["example"]["weights"][1].__setitem__(0, "1"), "weights[1]"),
    "a weight shape of rank 5": (lambda c: _cell(c).update(weights=[[1, 1, 1, 1, 1]]), "weights[0]"),
    "a state that does not match its initial state": (lambda c: _cell(c).update(states=[[3], [2, 3]]), "initial_states[1]"),
    "an unknown key": (lambda c: _cell(c).update(module="os"), "unknown keys"),
    "a user cell outside a layer example": (lambda c: [c["example"].pop(k) for k in ("layer", "stacked")], "only in a layer example"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_malformed_user_cell_case_is_one_case_error_line(name):
    case = copy.deepcopy(saved())
    spoil, message = HOSTILE[name]
    spoil(case)
    with pytest.raises(CaseError) as raised:
        check_case(case)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_stacked_copy_must_be_the_same_cell():
    case = copy.deepcopy(saved(STACKED))
    case["example"]["stacked"][0]["structure"]["user_cell"]["target"] = "other.module:Cell"
    with pytest.raises(CaseError, match="not the same cell as the first"):
        check_case(case)


def test_a_user_cell_reproducer_needs_cell_naming_its_class(tmp_path, capsys):
    """Its expected values come from running the cell: the case's word is not enough."""
    case = saved()
    _cell(case).update(target="no_such_cell_module_anywhere.cells:MyCell", search_path="/where/it/ran")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    for cell in ([], ["--cell", "other.cells:MyCell"]):
        assert repro.main([str(path), *cell]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--cell no_such_cell_module_anywhere.cells:MyCell" in err[0], err
    assert "no_such_cell_module_anywhere" not in sys.modules


@pytest.mark.e2e
def test_with_cell_a_user_cell_case_prints_a_script_importing_it_from_here(tmp_path):
    case = saved()
    _cell(case).update(target="tests.user_cells.examples:RankedStatesCell", search_path="/where/it/ran")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    printed = subprocess.run([sys.executable, "-m", "conformance.replay.repro", str(path), "--cell", _cell(case)["target"]],
                             capture_output=True, text=True, cwd=REPOSITORY, timeout=300)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert "from tests.user_cells.examples import RankedStatesCell" in printed.stdout
    assert f"sys.path.insert(0, {str(REPOSITORY)!r})" in printed.stdout and "/where/it/ran" not in printed.stdout


def _known_file(tmp_path, case):
    (tmp_path / "case.json").write_text(json.dumps(case))
    (tmp_path / "known.toml").write_text(
        '[[divergence]]\nid = "x"\nbackend = "layer-keras-numpy"\npackage = "keras"\nversions = ">=3"\n'
        'modes = ["call"]\ncondition = "mask"\nrule = "L5"\n'
        'property = "test_user_cell::test_your_cell_in_bidirectional_agrees_with_reference"\nreason = "r"\n'
        'example = "case.json"\n')
    return tmp_path / "known.toml"


def test_a_declared_entry_names_only_the_suites_own_cells(tmp_path):
    case = saved()
    _cell(case)["target"] = "tests.user_cells.examples:RankedStatesCell"  # the same class, from elsewhere
    with pytest.raises(KnownDivergenceError, match="is not one of the suite's"):
        load(_known_file(tmp_path, case))


def test_a_declared_entrys_cell_is_imported_from_the_suite_not_a_saved_path(tmp_path):
    case = saved()
    _cell(case)["search_path"] = str(tmp_path)  # where a planted conformance/known/known_cells could wait
    with pytest.raises(KnownDivergenceError, match="search_path"):
        load(_known_file(tmp_path, case))


def test_the_shipped_user_cell_entries_load():
    entries = {e.id: e for e in load()}
    assert "layer-keras-numpy-state-mask-rank-crashes" in entries
    assert "layer-tf-keras-stacked-constants-per-cell-initial-state-crashes" in entries


def test_a_suite_cell_case_is_printed_without_its_recorded_search_path():
    """A case naming the suite's own cell needs no --cell, and the directory it records
    never reaches sys.path (a planted module there would be imported first)."""
    case = saved()
    _cell(case)["search_path"] = "/planted/here"
    consented = repro.user_cell_consent(case, None)
    assert _cell(consented)["search_path"] == "" and _cell(case)["search_path"] == "/planted/here"


def test_a_stacked_copy_is_the_cell_built_for_the_previous_output():
    """A cell whose output (2,) is not its input (3,) stacks as the cell built for (2,):
    the copy's structure, weights included, is that probe's (cells/user_cell_strategies.py)."""
    from hypothesis import find

    from cells.user_cell import Shape, UserCellStructure
    from cells.user_cell_strategies import stacks_with_itself, user_layer_examples

    def cell(n):
        return UserCellStructure("m:C", input_shapes=((n,),), states=(Shape((2,)),), outputs=(Shape((2,)),),
                                 weights_shapes=((n, 2),))

    lone = cell(3)
    assert not stacks_with_itself(lone)
    structure = replace(lone, copies=(cell(2),))
    assert stacks_with_itself(structure)
    example = find(user_layer_examples(structure, min_stacked=2, max_stacked=2), lambda e: True)
    assert [s.structure.input_shapes for s in example.specs] == [((3,),), ((2,),), ((2,),)]
    assert [len(s.weights[0]) for s in example.specs] == [6, 4, 4]
    case = check_case({**saved(), "example": example_to_dict(example)})  # and it saves as a valid case
    assert [s["structure"]["user_cell"]["input_shape"] for s in case["example"]["stacked"]] == [[2], [2]]
