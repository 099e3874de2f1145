"""The precision mutants (conformance/research/mutants/precision_catalog.py) are found by
the low-precision properties alone, each by the rule it breaks (issue 40).

The float32 and float64 properties pass each of them (so the low-precision properties
are what finds them), and the hunt through every property kills each by its rule.
"""

import pytest

from conformance.base import limits
from conformance.command import mutants_command
from conformance.judge import run_state
from conformance.properties import FUNCTION_PROPERTIES
from conformance.properties import test_precision
from conformance.research import mutation
from conformance.research.mutants.precision_catalog import PRECISION_MUTANTS

LOW_PRECISION_PROPERTIES = [test_precision.test_low_precision_agrees_with_reference,
                            test_precision.test_low_precision_is_exact_where_the_contract_is_exact]
FULL_PRECISION_PROPERTIES = [p for p in FUNCTION_PROPERTIES if p not in LOW_PRECISION_PROPERTIES]


@pytest.mark.parametrize("name", list(PRECISION_MUTANTS))
def test_only_the_low_precision_properties_find_the_mutant(name):
    mutant = PRECISION_MUTANTS[name]
    with run_state.running(run_state.RunState(budget=limits.ShrinkBudget(1.0))):
        missed = mutation.hunt(mutant, mutants_command.budgets_of("ci"), properties=FULL_PRECISION_PROPERTIES)
        caught = mutation.hunt(mutant, mutants_command.budgets_of("ci"))
    assert not missed.killed, f"{name}: a float32/float64 property found it, so it is no precision mutant: {missed.divergence}"
    assert caught.killed and caught.by_its_rule, f"{name} breaks {mutant.rule}; the hunt found {caught.rule} ({caught.divergence})"
    assert caught.by_its_rule.startswith("test_precision::"), caught.by_its_rule
