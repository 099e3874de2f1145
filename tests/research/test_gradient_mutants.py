"""The gradient mutants: exact forward results, wrong gradients, all killed (issue 16).

Each mutant of conformance/research/mutants/gradient_catalog.py changes only the backward pass of
`CorrectTorchLoop`, so the forward properties must let it through (or it would prove
nothing about the gradient properties) and the gradient properties must kill it by the
rule it breaks. The correct torch loop passes every gradient property (the control).
"""

import numpy as np
import pytest
from hypothesis import Phase, settings

pytest.importorskip("torch", reason="NOT INSTALLED: torch (runs the gradient mutants)")

from conformance.base import limits  # noqa: E402
from conformance.judge import run_state  # noqa: E402
from conformance.research import mutation
from conformance.base import profiles
from conformance.judge.assertions import Divergence  # noqa: E402
from conformance.contract.gradients import batch_major, loss_weights  # noqa: E402
from conformance.research.mutants import gradient_mutants  # noqa: E402
from conformance.research.mutants.gradient_catalog import GRADIENT_MUTANTS, GradientMutant  # noqa: E402
from conformance.research.mutants.gradient_loop import CorrectTorchLoop  # noqa: E402
from conformance.properties import ALL_PROPERTIES, FUNCTION_PROPERTIES, GRADIENT_PROPERTIES  # noqa: E402
from conformance.judge.runs import expected  # noqa: E402
from conformance.properties.test_gradients import test_masked_steps_are_inert_for_gradients as G3_PROPERTY  # noqa: E402

NO_SHRINKING = [Phase.explicit, Phase.reuse, Phase.generate]
GRADIENT_RULES = {"G1", "G2", "G3", "G4"}
CORRECT = GradientMutant("correct-torch-loop", "-", "-", "no change", CorrectTorchLoop)
# The property that checks each rule's own relation (every one checks G2 as well).
PROPERTY_OF_RULE = {"G1": "test_gradients_agree_with_reference", "G3": "test_masked_steps_are_inert_for_gradients"}
# Rules a mutant breaks besides its own: the where trap's 0 * NaN reaches the masked
# inputs' gradients too (G2, which every gradient property checks first); the gradient
# leaking into masked steps reaches the weights' gradients too (G1), and a shrunk example
# may keep only that part (weights that make the input gradient vanish).
ALSO_BREAKS = {"where-trap": {"G2"}, "gradient-leaks-into-masked-inputs": {"G1"}}


@pytest.fixture
def ci_without_shrinking():
    """The `ci` budgets a run has (a gradient property draws profiles.GRADIENT_EXAMPLES:
    4), derandomized, without shrinking; what 4 examples miss, the top-up runs reach
    (conformance/harness/covering.py: without them constants-detached survives)."""
    gradient = profiles.settings_for("ci", profiles.GRADIENT_EXAMPLES["ci"], phases=NO_SHRINKING)
    with profiles.applied(profiles.settings_for("ci", phases=NO_SHRINKING), ALL_PROPERTIES), profiles.applied(gradient, GRADIENT_PROPERTIES):
        yield


@pytest.fixture
def few_forward_examples():
    """A small forward budget: the forward properties only have to find nothing."""
    with profiles.applied(profiles.settings_for("ci", max_examples=6, phases=NO_SHRINKING), ALL_PROPERTIES):
        yield


def test_the_catalog_has_every_gradient_bug_of_the_issue_each_with_its_source():
    assert gradient_mutants() is GRADIENT_MUTANTS and len(GRADIENT_MUTANTS) >= 6
    for mutant in GRADIENT_MUTANTS.values():
        assert mutant.rule in GRADIENT_RULES, mutant
        assert "#" in mutant.models or mutant.models.startswith(("pattern", "finding")), mutant
        overridden = [n for n, v in vars(mutant.loop).items() if callable(v) and hasattr(CorrectTorchLoop, n)]
        assert issubclass(mutant.loop, CorrectTorchLoop) and overridden, f"{mutant.name} changes nothing"
        assert mutant.backend.differentiates and mutation.properties_for(mutation.mutant_target(mutant)) == GRADIENT_PROPERTIES
    assert {"where-trap"} <= set(GRADIENT_MUTANTS)
    assert "tensorflow/tensorflow#6209" in GRADIENT_MUTANTS["where-trap"].models


@pytest.mark.parametrize("name", [CORRECT.name, *GRADIENT_MUTANTS])
def test_forward_results_are_exact(name, few_forward_examples):
    """Every forward property passes: only the gradient properties can tell these apart."""
    mutant = CORRECT if name == CORRECT.name else GRADIENT_MUTANTS[name]
    hunt = mutation.hunt(mutant, properties=FUNCTION_PROPERTIES)
    assert not hunt.killed, hunt.divergence
    assert hunt.examples_run >= 3 * len(FUNCTION_PROPERTIES)


@pytest.mark.parametrize("name", list(GRADIENT_MUTANTS))
def test_the_suite_kills_the_gradient_mutant_by_the_rule_it_breaks(name, ci_without_shrinking):
    mutant = GRADIENT_MUTANTS[name]
    hunt = mutation.hunt(mutant)
    assert hunt.killed, f"{name} ({mutant.models}) survived {hunt.examples_run} examples of every gradient property"
    assert hunt.kind == "gradient"
    breaks = {mutant.rule} | ALSO_BREAKS.get(name, set())
    assert hunt.rule in breaks, f"{name} breaks {mutant.rule} but was killed under {hunt.rule}: {hunt.divergence}"
    if mutant.rule in PROPERTY_OF_RULE:
        assert hunt.property.endswith(PROPERTY_OF_RULE[mutant.rule]), hunt.property


def test_the_correct_torch_loop_passes_every_gradient_property(ci_without_shrinking):
    """Control: the loop every gradient mutant changes conforms, so each kill is the mutation's."""
    hunt = mutation.hunt(CORRECT)
    assert hunt.kind == "gradient"
    assert not hunt.killed, hunt.divergence
    assert hunt.examples_run >= profiles.GRADIENT_EXAMPLES["ci"] * len(GRADIENT_PROPERTIES)  # (and the top-ups: they pass too)


def test_the_where_trap_is_rejected_under_g3_and_shrunk_to_one_sample():
    """Acceptance (issue 16): the G3 property finds the where trap by itself (drawn
    examples only, no @example case) and shrinks it to B = 1, T <= 3, where the trap's
    gradients are NaN or inf (G3)."""
    unbounded = run_state.RunState(budget=limits.ShrinkBudget(None))  # judge the shrinking, not the time bound
    drawn_and_shrunk = settings(profiles.settings_for("ci"), phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False)
    target = mutation.mutant_target(GRADIENT_MUTANTS["where-trap"])
    with run_state.running(unbounded), profiles.applied(drawn_and_shrunk, [G3_PROPERTY]), pytest.raises(Divergence) as failure:
        G3_PROPERTY(target=target)
    minimal = failure.value.example
    assert failure.value.rule in {"G3"} | ALSO_BREAKS["where-trap"], str(failure.value)
    assert minimal.batch == 1 and minimal.steps <= 3, repr(minimal)
    _, grads = target.backend.run_with_gradients(minimal, "eager", loss_weights(expected(minimal), minimal.dtype))
    assert not all(np.isfinite(g).all() for _, g in batch_major(grads, minimal).leaves())
