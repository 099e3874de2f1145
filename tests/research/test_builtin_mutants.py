"""The built-in layer mutants (conformance/research/mutants/builtin_catalog.py, issue 41):
each killed by the built-in properties by the rule it breaks; L9's mutant by the stateful
property alone (every new rule has a mutant that only it kills)."""

import pytest

from conformance.base import limits
from conformance.command import mutants_command
from conformance.judge import run_state
from conformance.properties import BUILTIN_PROPERTIES
from conformance.properties import test_builtin_layers
from conformance.research import mutation
from conformance.research.mutants.builtin_catalog import BUILTIN_MUTANTS

STATEFUL = test_builtin_layers.test_builtin_stateful_layer_carries_its_states


@pytest.mark.parametrize("name", list(BUILTIN_MUTANTS))
def test_each_built_in_mutant_is_killed_by_its_rule(name):
    mutant = BUILTIN_MUTANTS[name]
    with run_state.running(run_state.RunState(budget=limits.ShrinkBudget(1.0))):
        caught = mutation.hunt(mutant, mutants_command.budgets_of("ci"))
    assert caught.kind == "builtin"
    assert caught.killed and caught.by_its_rule, f"{name} breaks {mutant.rule}; the hunt found {caught.rule} ({caught.divergence})"


def test_only_the_stateful_property_kills_the_l9_mutant():
    mutant = BUILTIN_MUTANTS["stateful-resets-between-batches"]
    others = [p for p in BUILTIN_PROPERTIES if p is not STATEFUL]
    with run_state.running(run_state.RunState(budget=limits.ShrinkBudget(1.0))):
        missed = mutation.hunt(mutant, mutants_command.budgets_of("ci"), properties=others)
        caught = mutation.hunt(mutant, mutants_command.budgets_of("ci"), properties=[STATEFUL])
    assert not missed.killed, f"a property of L1-L8 killed it: {missed.divergence}"
    assert caught.killed and caught.rule == "L9"


def test_the_correct_built_in_layer_survives_every_built_in_property():
    """The mutants' in-process row without a fault passes: a kill is the fault's."""
    from conformance.research.mutants.builtin_catalog import InProcessBuiltin
    from conformance.research.mutants.catalog import Mutant

    correct = Mutant("correct-built-in", "-", "L1", "no fault", None)
    correct = type("CorrectBuiltin", (), {"name": "correct-built-in", "rule": "L1", "backend": InProcessBuiltin("correct")})()
    with run_state.running(run_state.RunState(budget=limits.ShrinkBudget(1.0))):
        hunted = mutation.hunt(correct, mutants_command.budgets_of("ci"))
    assert not hunted.killed, hunted.divergence
