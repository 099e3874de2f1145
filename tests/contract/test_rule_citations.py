"""Every contract rule of section 1 (R1-R14, as CONTRACT.md defines them) is implemented
(cited) in the reference and checked (cited) in at least one property module or golden test;
every gradient rule of section 5 (G1-G4) is implemented (cited) in the gradient reference or
the gradient checks and checked (cited) in a property module; every layer rule (L1-L9) is
checked (cited) in a property module, L8, what a layer hands on, in the layer reference, and
L9, the stateful layer, in the stateful reference."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_TEXT = (ROOT / "CONTRACT.md").read_text()
# The rule headings of the repository's contract, e.g. "### R4. Masked outputs".
RULES = re.findall(r"^### (R\d+)\. ", CONTRACT_TEXT, re.M)
GRADIENT_RULES = re.findall(r"^### (G\d+)\. ", CONTRACT_TEXT, re.M)
LAYER_RULES = re.findall(r"^### (L\d+)\. ", CONTRACT_TEXT, re.M)
PROPERTIES = sorted((ROOT / "conformance" / "properties").glob("test_*.py"))
CHECKS = PROPERTIES + [ROOT / "tests" / "contract" / "test_reference_goldens.py"]
GRADIENT_IMPLEMENTATION = [ROOT / "conformance" / "contract" / "gradient_reference.py", ROOT / "conformance" / "judge" / "gradient_assertions.py"]


def cited(rule, text):
    return re.search(rf"\b{rule}\b", text) is not None


def test_the_contract_defines_rules_r1_to_r14():
    """Guards the parametrization below: an empty or partial list would check nothing."""
    assert RULES == [f"R{n}" for n in range(1, 15)]


def test_the_contract_defines_rules_g1_to_g4_and_l1_to_l9():
    assert GRADIENT_RULES == [f"G{n}" for n in range(1, 5)]
    assert LAYER_RULES == [f"L{n}" for n in range(1, 10)]


def test_l9_is_implemented_in_the_stateful_reference():
    assert cited("L9", (ROOT / "conformance" / "contract" / "stateful_reference.py").read_text())


def test_l8_is_implemented_in_the_layer_reference():
    assert cited("L8", (ROOT / "conformance" / "contract" / "layer_reference.py").read_text())


@pytest.mark.parametrize("rule", RULES)
def test_rule_is_cited_in_the_reference(rule):
    assert cited(rule, (ROOT / "conformance" / "contract" / "reference.py").read_text())


@pytest.mark.parametrize("rule", RULES)
def test_rule_is_cited_in_a_check(rule):
    citing = [path.name for path in CHECKS if cited(rule, path.read_text())]
    assert citing, f"no property or golden test cites {rule}"


@pytest.mark.parametrize("rule", GRADIENT_RULES)
def test_gradient_rule_is_cited_where_gradients_are_computed_or_compared(rule):
    citing = [path.name for path in GRADIENT_IMPLEMENTATION if cited(rule, path.read_text())]
    assert citing, f"neither the gradient reference nor the gradient checks cite {rule}"


@pytest.mark.parametrize("rule", GRADIENT_RULES + LAYER_RULES)
def test_gradient_and_layer_rule_is_cited_in_a_property(rule):
    citing = [path.name for path in PROPERTIES if cited(rule, path.read_text())]
    assert citing, f"no property module (conformance/properties/test_*.py) cites {rule}"
