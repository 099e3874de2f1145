"""Coverage by construction (conformance/judge/coverage.py, conformance/harness/covering.py, issue 37):
each property's list of areas is what its strategy draws; a fault in one area is caught
under `ci` because the top-up runs reach that area when the drawn sample did not; an area
no run reaches makes the run incomplete (exit status 6), shown in the matrix."""

import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from conformance.judge import coverage
from conformance.harness import covering
from conformance.research import mutation
from conformance.base import profiles
from conformance.judge.checks import property_id_of as property_id
from conformance.research.mutants import CorrectLoop, Mutant
from conformance.properties import ALL_PROPERTIES
from conformance.results.results import INCOMPLETE_EXIT_STATUS
from conformance.properties.test_agreement import test_agrees_with_reference as AGREEMENT

NO_SHRINKING = [Phase.explicit, Phase.reuse, Phase.generate]


def drawn_areas(test, draws=150):
    """{area: how many of `draws` derandomized draws of the property's own strategy are in it}."""
    counts = Counter()

    @settings(max_examples=draws, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(example=test.hypothesis._given_kwargs["example"])
    def draw(example):
        counts.update(coverage.areas_of(example))

    draw()
    return counts


def test_every_property_has_its_list_of_areas():
    assert {property_id(t) for t in ALL_PROPERTIES} == set(coverage.MUST_CONTAIN)


@pytest.mark.parametrize("test", ALL_PROPERTIES, ids=property_id)
def test_a_property_must_contain_exactly_the_areas_its_strategy_draws(test):
    """Listed and never drawn: an area its top-ups could never reach (a false
    "incomplete"); drawn and not listed: a gap nothing would report."""
    counts = drawn_areas(test)
    listed = set(coverage.MUST_CONTAIN[property_id(test)])
    drawn = {area for area, n in counts.items() if n}
    assert listed - drawn == set(), f"listed, never drawn in 150 draws: {sorted(listed - drawn)}"
    assert drawn - listed == set(), f"drawn, not listed: {sorted(drawn - listed)}"
    assert not set(coverage.FIXED_BY_RELATION.get(property_id(test), ())) & drawn


class ConstantsShifted(CorrectLoop):
    """A fault in one area: the step sees every constant shifted by one."""

    def step_arguments(self, states, constants, call):
        return super().step_arguments(states, tuple(np.asarray(c) + 1 for c in constants), call)


class RankThreeStatesUnmasked(CorrectLoop):
    """A fault in one area: a state of rank 3 or more, (B, a, b), is not masked (R3)."""

    def masked_states(self, keep, new_states, states, output_leaves, call):
        return [new if np.ndim(new) > 2 else self.select(keep, new, old, call) for new, old in zip(new_states, states)]


def one_example_then_top_ups():
    """A one-example sample (the simplest: no mask, no constants, rank-1 states) for the
    agreement property: whatever it catches, the top-up runs caught (and shrank: the
    rule a failure names is its minimal example's)."""
    return profiles.settings_for("ci", max_examples=1)


@pytest.mark.parametrize("loop, rule", [(ConstantsShifted, "R2"), (RankThreeStatesUnmasked, "R3")], ids=["consts", "rank>2"])
def test_a_fault_in_one_area_is_caught_by_the_top_up_that_reaches_it(loop, rule, monkeypatch):
    planted = Mutant(f"planted-{loop.__name__}", "-", rule, loop.__doc__, loop)
    caught = mutation.hunt(planted, one_example_then_top_ups(), properties=[AGREEMENT])
    assert caught.killed and caught.rule == rule, caught.divergence
    assert caught.examples_to_kill > 1  # not by the drawn example: by a top-up
    monkeypatch.setattr(covering, "top_up", lambda *args: ((), (), 0))
    missed = mutation.hunt(planted, one_example_then_top_ups(), properties=[AGREEMENT])
    assert not missed.killed, "control: the one drawn example alone must miss it, or the test proves nothing"


def test_a_constant_whose_gradient_is_dropped_is_caught_under_the_ci_gradient_budget(monkeypatch):
    """The issue's loop: constants reach the step through a stop-gradient (here: detached).
    The gradient properties draw 4 examples under `ci`; G1's sample then has a constant,
    drawn or topped up."""
    pytest.importorskip("torch", reason="NOT INSTALLED: torch (runs the gradient mutants)")
    from conformance.research.mutants.gradient_catalog import GRADIENT_MUTANTS
    from conformance.properties.test_gradients import test_gradients_agree_with_reference as G1

    budget = profiles.settings_for("ci", profiles.GRADIENT_EXAMPLES["ci"], phases=NO_SHRINKING)
    caught = mutation.hunt(GRADIENT_MUTANTS["constants-detached"], budget, properties=[G1])
    assert caught.killed and caught.rule == "G1", caught.divergence
    one = profiles.settings_for("ci", max_examples=1, phases=NO_SHRINKING)
    monkeypatch.setattr(covering, "top_up", lambda *args: ((), (), 0))
    assert not mutation.hunt(GRADIENT_MUTANTS["constants-detached"], one, properties=[G1]).killed  # control


def test_top_ups_leave_the_drawn_sample_as_it_was(monkeypatch):
    """The drawn sample comes first and is the profile's own: the declared divergences it
    meets stay met. Top-ups only add examples after it."""
    seen = []

    class Recorded(CorrectLoop):
        def __call__(self, step_function, inputs, initial_states, **options):
            seen.append(str([np.shape(s) for s in initial_states]) + str(sorted((k, v) for k, v in options.items() if isinstance(v, bool))))
            return super().__call__(step_function, inputs, initial_states, **options)

    budget = profiles.settings_for("ci", max_examples=5, phases=NO_SHRINKING)
    mutant = Mutant("recorded", "-", "-", "-", Recorded)
    mutation.hunt(mutant, budget, properties=[AGREEMENT])
    with_top_ups = list(seen)
    seen.clear()
    monkeypatch.setattr(covering, "top_up", lambda *args: ((), (), 0))
    mutation.hunt(mutant, budget, properties=[AGREEMENT])
    assert len(with_top_ups) > len(seen) > 0 and with_top_ups[: len(seen)] == seen


PLUGIN_NO_CONSTANTS = """
from conformance.judge import coverage
coverage.IN_AREA["consts"] = lambda facts: False  # an area no example can be in
"""


def run_reference(tmp_path, *extra):
    (tmp_path / "no_constants.py").write_text(PLUGIN_NO_CONSTANTS)
    command = [sys.executable, "-m", "pytest", "-p", "no_constants", "-p", "no:cacheprovider", "-q", "--pyargs",
               "conformance.properties.test_agreement", "--backends", "reference", "--markdown", str(tmp_path / "m.md"), *extra]
    env = {**__import__("os").environ, "CI": "true", "PYTHONPATH": str(tmp_path)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.mark.e2e
def test_an_area_no_example_reaches_makes_the_run_incomplete(tmp_path):
    done = run_reference(tmp_path)
    assert done.returncode == INCOMPLETE_EXIT_STATUS, done.stdout[-3000:] + done.stderr[-2000:]
    assert "INCOMPLETE: 1 property left an area without an example (reference [eager] test_agrees_with_reference: consts)" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("reference [eager]"))
    assert row.split()[2] == "incomplete" and "uncovered" in row.split()
    markdown = (tmp_path / "m.md").read_text()
    assert "| `reference [eager]` | incomplete |" in markdown and "uncovered" in markdown


@pytest.mark.e2e
def test_fewer_examples_than_areas_asked_for_shows_the_gaps_and_is_not_incomplete(tmp_path):
    done = run_reference(tmp_path, "--max-examples", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "ran fewer examples than their areas, as --max-examples asked (uncovered in the matrix)" in done.stdout
    assert "uncovered" in next(line for line in done.stdout.splitlines() if line.startswith("reference [eager]"))
