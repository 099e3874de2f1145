"""A saved case is data (issue 39): consent names one cell, and no other part of a case
(the diverging example; a stacked copy is refused unless it is the same cell) may name a
module of its own;
the case is refused before anything is imported. In process: repro.main imports nothing
of a refused case and starts nothing."""

import copy
import json
import sys

import pytest

from cells.case_schema import CaseError, check_case
from conformance.known import ledger
from conformance.replay import repro

CASE = json.loads((ledger.DEFAULT_FILE.parent / "layer-keras-numpy-state-mask-rank-crashes.json").read_text())
OWN = CASE["example"]["structure"]["user_cell"]["target"]


def renamed(structure, target="harmless_here:Cell"):
    structure["user_cell"]["target"] = target


SMUGGLED = {
    "diverging example": lambda c: (c.__setitem__("diverging_example", copy.deepcopy(c["example"])),
                                    renamed(c["diverging_example"]["structure"], "evil_module:Cell")),
    "diverging example, consent for it": lambda c: (c.__setitem__("diverging_example", copy.deepcopy(c["example"])),
                                                    renamed(c["diverging_example"]["structure"], "evil_module:Cell")),
    "first structure only": lambda c: renamed(c["example"]["structure"], "evil_module:Cell"),
}


@pytest.mark.parametrize("name", list(SMUGGLED))
def test_a_case_naming_a_second_cell_is_refused(name, tmp_path, monkeypatch, capsys):
    case = copy.deepcopy(CASE)
    SMUGGLED[name](case)
    if name != "first structure only":
        with pytest.raises(CaseError, match="names one user cell"):
            check_case(case)
    (tmp_path / "evil_module.py").write_text("raise SystemExit('imported from data')\n")
    (tmp_path / "case.json").write_text(json.dumps(case))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    consent = {"diverging example": OWN, "diverging example, consent for it": "evil_module:Cell"}.get(name, "other:Cell")
    status = repro.main([str(tmp_path / "case.json"), "--cell", consent])
    assert status == 2 and "evil_module" not in sys.modules
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_case_as_shipped_is_valid():
    assert check_case(copy.deepcopy(CASE)) is not None
