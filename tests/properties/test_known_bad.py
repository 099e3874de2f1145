"""The suite's power: its own properties reject the 2018 faulty TensorFlow loop.

The properties are taken from the suite's modules unchanged (their strategy and body),
without their explicit regression examples, so Hypothesis must find and shrink the bug
itself. The shrunk counterexample must be minimal: one sample, at most three steps.
"""

import pytest
from hypothesis import settings

from conformance.base import limits
from conformance.judge import run_state
from conformance.properties import test_agreement
from conformance.properties import test_hints
from conformance.judge.assertions import Divergence
from conformance.properties import generated_only
from conformance.judge.targets import target


@pytest.fixture(autouse=True)
def unbounded_shrinking():
    """These tests judge how far Hypothesis shrinks, not the time bound a run puts on it
    (--shrink-seconds, which a loaded machine could reach first)."""
    with run_state.running(run_state.RunState(budget=limits.ShrinkBudget(None))):
        yield


@pytest.fixture(scope="module")
def faulty():
    pytest.importorskip("tensorflow", reason="NOT INSTALLED: tensorflow (needed for the 2018 loop)")
    return target("tensorflow-2018", "function")


def rerun_generated_only(property_test, strategy):
    """The property's own body and strategy without its @example cases, under this run's profile."""
    return generated_only(property_test, strategy, settings(settings.default, report_multiple_bugs=False))


def test_agreement_property_rejects_the_2018_loop_and_shrinks_it(faulty):
    check = rerun_generated_only(test_agreement.test_agrees_with_reference, test_agreement.EXAMPLES)
    with pytest.raises(Divergence) as failure:
        check(target=faulty)
    minimal = failure.value.example
    assert minimal.batch == 1 and minimal.steps <= 3, repr(minimal)
    assert minimal.mask is not None and not minimal.mask.all(), "the 2018 bug needs a masked step"
    assert failure.value.rule in ("R4", "R2", "R3"), str(failure.value)


def test_unroll_property_rejects_the_2018_loop(faulty):
    """R10: the faulty while_loop branch disagrees with its own (correct) unrolled branch."""
    check = rerun_generated_only(test_hints.test_unroll_gives_the_same_results, test_hints.EXAMPLES_UNROLLED_FALSE)
    with pytest.raises(Divergence) as failure:
        check(target=faulty)
    assert failure.value.rule == "R10"


def test_the_2018_report_example_itself_is_rejected(faulty):
    """The explicit regression example fails on the faulty loop with the rule R4."""
    from cells.catalog import report_2018_example
    from conformance.judge.assertions import assert_agrees_with_reference
    from conformance.judge.runs import expected, run_backend

    example = report_2018_example()
    with pytest.raises(Divergence) as failure:
        assert_agrees_with_reference(run_backend(faulty, example, "R2"), expected(example), example, faulty)
    assert failure.value.rule == "R4"
    assert "got np.float32(12.0), expected np.float32(2.0)" in str(failure.value)


def test_the_fixed_loop_passes_the_same_example():
    """Control: the same check passes on the project's fixed loop, so the failure above is the bug."""
    pytest.importorskip("tensorflow", reason="NOT INSTALLED: tensorflow")
    from cells.catalog import report_2018_example
    from conformance.judge.assertions import assert_agrees_with_reference
    from conformance.judge.runs import expected, run_backend

    fixed = target("fixed-tensorflow", "function")
    example = report_2018_example()
    assert_agrees_with_reference(run_backend(fixed, example, "R2"), expected(example), example, fixed)
