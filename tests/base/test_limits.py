"""Run limits (conformance/base/limits.py, conformance/judge/checks.py): the speed counters, the
bound on shrinking, hangs that are not shrunk, and failures of the property's own code.

Each test runs one property on a small NumPy backend through Hypothesis, as a worker
does, with the property's explicit examples left out (properties.generated_only).
"""

import time

import pytest
from hypothesis import settings

from conformance.judge import run_state
from conformance.base import limits
from conformance.base import profiles
from conformance.properties import test_agreement
from conformance.judge.assertions import Divergence
from conformance.backends import get_backend
from conformance.backends.base import Backend, Result
from conformance.properties import generated_only
from conformance.judge.targets import Target

CI = profiles.settings_for("ci", max_examples=25, report_multiple_bugs=False)


class Faulty(Backend):
    """The reference, wrong whenever B > 1 (and `delay` seconds slow); `hang` seconds
    instead where B > 1 when given."""

    packages = ("numpy",)
    modes = ("eager",)

    def __init__(self, name, delay=0.0, hang=None, returns=None):
        self.name, self.delay, self.hang, self.returns = name, delay, hang, returns

    def run(self, example, mode):
        time.sleep(self.delay)
        result = get_backend("reference").run(example, "eager")
        if self.returns is not None:
            return self.returns
        if example.batch > 1:
            if self.hang:
                time.sleep(self.hang)
            return Result(result.last_output, result.outputs, [s + 1 for s in result.new_states])
        return result


def agreement(chosen=CI):
    return generated_only(test_agreement.test_agrees_with_reference, test_agreement.EXAMPLES, chosen)


@pytest.fixture
def run():
    """A RunState of the test's own, current while it runs (the test sets its limits)."""
    with run_state.running() as state:
        yield state


def counts(target):
    return {name: getattr(run_state.current(), name)[target.id] for name in ("examples_run", "drawn_run", "shrink_run", "shrink_skipped", "shrink_cut_short")}


def test_drawn_examples_and_shrink_calls_are_counted_apart(run):
    """Counted apart; and the bound changes nothing it does not reach: a derandomized run
    reports the same minimal example after the same calls with or without it."""
    minimal = []
    for bound in (None, 600.0):  # (a bound this run does not reach)
        run.budget = limits.ShrinkBudget(bound)
        target = Target(Faulty(f"counted-{bound}"), "eager")
        with pytest.raises(Divergence) as failure:
            agreement()(target=target)
        seen = counts(target)
        assert seen["drawn_run"] >= 1 and seen["shrink_run"] >= 1
        assert seen["drawn_run"] + seen["shrink_run"] == seen["examples_run"]
        assert seen["shrink_skipped"] == seen["shrink_cut_short"] == 0
        assert failure.value.example.batch == 2  # shrunk as far as it goes
        assert "may not be minimal" not in "\n".join(getattr(failure.value, "__notes__", []))
        minimal.append((repr(failure.value.example), seen["drawn_run"], seen["shrink_run"]))
    assert minimal[0] == minimal[1]


def test_a_passing_property_counts_drawn_examples_only(run):
    target = Target(Faulty("passing", returns=Result([], [], [])), "eager")
    target.backend.run = lambda example, mode: get_backend("reference").run(example, "eager")  # correct
    agreement()(target=target)
    seen = counts(target)
    assert seen["drawn_run"] == seen["examples_run"] >= 25 and seen["shrink_run"] == 0


def test_shrinking_stops_at_the_bound_and_says_so(run):
    run.budget = limits.ShrinkBudget(0.5)
    target = Target(Faulty("slow-to-shrink", delay=0.05), "eager")
    started = time.perf_counter()
    with pytest.raises(Divergence) as failure:
        agreement()(target=target)
    elapsed = time.perf_counter() - started
    seen = counts(target)
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    assert "shrinking stopped after 0.5 s (--shrink-seconds): this example may not be minimal" in notes
    assert seen["shrink_cut_short"] == 1 and seen["shrink_skipped"] >= 1
    assert failure.value.example.batch > 1  # the final replay ran for real and still fails
    # 0.5 s of shrinking at >= 0.1 s a call (backend and reference): a handful of calls
    assert seen["shrink_run"] <= 15, seen
    assert elapsed < 15, elapsed


def test_a_hang_is_reported_once_without_shrinking_it(run):
    """With --example-timeout, every shrink step of a hang used to wait the full timeout."""
    run.example_timeout = 0.5
    run.budget = limits.ShrinkBudget(None)  # (no bound: the hang alone stops it)
    target = Target(Faulty("hangs", hang=30), "eager")
    started = time.perf_counter()
    with pytest.raises(Divergence) as failure:
        agreement()(target=target)
    elapsed = time.perf_counter() - started
    assert failure.value.crash and "ExampleTimeout" in failure.value.crash
    assert elapsed < 8, elapsed  # the first hang and the final replay: 2 x 0.5 s (75 s before the fix)
    assert "an example hit --example-timeout" in "\n".join(getattr(failure.value, "__notes__", []))
    assert counts(target)["shrink_cut_short"] == 1


def test_an_error_in_the_property_itself_is_a_divergence_with_its_example():
    """What the backend returned makes the comparison code raise (not a Divergence)."""
    class NoArray:
        def __array__(self, *args, **kwargs):
            raise TypeError("this is no array")

    target = Target(Faulty("returns-garbage", returns=Result(NoArray(), NoArray(), [NoArray()])), "eager")
    with pytest.raises(Divergence) as failure:
        agreement(settings(CI, max_examples=2))(target=target)
    divergence = failure.value
    assert divergence.rule == "unclassified" and divergence.example is not None and divergence.target is target
    assert divergence.property == "test_agreement::test_agrees_with_reference"
    assert divergence.property_input is not None and divergence.crash is None
    assert "the property failed on what the backend returned" in divergence.summary
    assert divergence.__cause__ is not None and not isinstance(divergence.__cause__, Divergence)


def test_counters_reset_between_test_runs(run):
    """A second run of the same property and target starts drawing again (a new run)."""
    run.budget = limits.ShrinkBudget(0.2)
    target = Target(Faulty("twice", delay=0.02), "eager")
    for _ in range(2):
        before = counts(target)
        with pytest.raises(Divergence):
            agreement()(target=target)
        after = counts(target)
        assert after["drawn_run"] > before["drawn_run"]  # not all skipped as "still shrinking"


@pytest.mark.e2e
def test_shrink_seconds_must_not_be_negative(pytester):
    pytester.makeconftest('pytest_plugins = ["conformance.plugin"]')
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess("--shrink-seconds", "-1", "--backends", "reference")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--shrink-seconds must be 0 or more*"])
