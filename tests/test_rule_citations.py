"""Every contract rule of section 1 (R1-R14, as CONTRACT.md defines them) is implemented
(cited) in the reference and checked (cited) in at least one property module or golden test."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The rule headings of the repository's contract, e.g. "### R4. Masked outputs".
RULES = re.findall(r"^### (R\d+)\. ", (ROOT / "CONTRACT.md").read_text(), re.M)
CHECKS = sorted((ROOT / "conformance").glob("test_*.py")) + [ROOT / "tests" / "test_reference_goldens.py"]


def cited(rule, text):
    return re.search(rf"\b{rule}\b", text) is not None


def test_the_contract_defines_rules_r1_to_r14():
    """Guards the parametrization below: an empty or partial list would check nothing."""
    assert RULES == [f"R{n}" for n in range(1, 15)]


@pytest.mark.parametrize("rule", RULES)
def test_rule_is_cited_in_the_reference(rule):
    assert cited(rule, (ROOT / "conformance" / "reference.py").read_text())


@pytest.mark.parametrize("rule", RULES)
def test_rule_is_cited_in_a_check(rule):
    citing = [path.name for path in CHECKS if cited(rule, path.read_text())]
    assert citing, f"no property or golden test cites {rule}"
