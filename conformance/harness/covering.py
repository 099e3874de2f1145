"""Top-up runs: after a property's drawn sample, one more example in each area it missed.

A pytest plugin (loaded by conformance.plugin), and `top_up` for code that runs the
properties outside pytest (`rnn-conformance mutants`). The model (which areas a property
must contain, which an example is in) is conformance/judge/coverage.py.

The drawn sample is the profile's, unchanged (the `ci` sample stays what it was, and so
do the declared divergences it meets). Then, while an applicable area is still empty, the
same Hypothesis test runs again with max_examples=1, its examples kept only where they
are in an area empty when that run began (`coverage.steering`, read by
conformance.judge.checks.contract_property, which rejects the others with `hypothesis.reject`).
The kept example is a drawn one, not the simplest, unless the simplest is in the area;
its failure shrinks inside the same areas, and its replay is kept too. Each run covers
at least one more area, so at most one run per area; an area no draw of a run could reach
(Hypothesis gives up: `Unsatisfiable`) stays uncovered and is reported so.

A user who asks for fewer examples (`--max-examples N`) than a property has areas gets
no top-up: its gaps are shown, and the run is not called incomplete for them.
"""

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Unsatisfiable

from conformance.harness import this_run
from conformance.judge import checks
from conformance.judge import coverage
from conformance.judge import run_state
from conformance.base import profiles
from conformance.results.results import INCOMPLETE_EXIT_STATUS

_COVERAGE = pytest.StashKey()
_INCOMPLETE = pytest.StashKey()  # [(node id, areas)] of the properties left incomplete
TOPPED_UP = pytest.StashKey()  # item -> {"topped_up", "uncovered", "top_up_runs", "asked_fewer"}


def top_up(run_once, test, target, property_id, seen):
    """Run `run_once()` (the property's Hypothesis test, once) until every applicable area
    has an example or a run reaches none; returns (areas topped up, areas left uncovered,
    top-up runs made).
    A divergence in a top-up run propagates, as the drawn sample's would."""
    before = seen.missing(target, property_id)
    missing = before
    chosen = test._hypothesis_internal_use_settings
    one = settings(
        chosen,
        max_examples=1,
        phases=[p for p in chosen.phases if p != Phase.explicit],  # its @example cases ran with the sample
        suppress_health_check=list(chosen.suppress_health_check) + [HealthCheck.filter_too_much, HealthCheck.too_slow],
    )
    runs = 0
    while missing:
        runs += 1
        try:
            with coverage.steering(run_state.current(), target, property_id, missing), profiles.applied(one, [test]):
                run_once()
        except Unsatisfiable:
            break
        left = seen.missing(target, property_id)
        if len(left) >= len(missing):
            break  # no progress (the run's one example was elsewhere): do not loop
        missing = left
    return tuple(a for a in before if a not in missing), missing, runs


def pytest_configure(config):
    seen = coverage.Coverage()
    config.stash[_COVERAGE] = seen
    this_run.of(config).observers.append(seen)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    target = getattr(item, "callspec", None) and item.callspec.params.get("target")
    test = getattr(item, "obj", None)
    if target is None or not getattr(test, "is_hypothesis_test", False):
        return outcome
    property_id = checks.property_id_of(test)
    if property_id not in coverage.MUST_CONTAIN:
        return outcome
    seen = item.config.stash[_COVERAGE]
    asked = item.config.getoption("--max-examples", default=None)
    if asked and asked < len(coverage.applicable_to(property_id, target.backend)):
        item.stash[TOPPED_UP] = _done(seen.missing(target, property_id), asked_fewer=True)
        return outcome
    topped, uncovered, runs = top_up(item.runtest, test, target, property_id, seen)
    if uncovered:
        item.config.stash.setdefault(_INCOMPLETE, []).append((item.nodeid, uncovered))
    item.stash[TOPPED_UP] = _done(uncovered, topped, runs)
    return outcome


def _done(uncovered, topped=(), runs=0, asked_fewer=False):
    """What the top-ups of one item did (TOPPED_UP)."""
    return {"topped_up": list(topped), "uncovered": list(uncovered), "top_up_runs": runs, "asked_fewer": asked_fewer}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """A run that passed but left an area uncovered exits 6 (incomplete), as the command
    does (results.exit_status); under pytest-xdist the workers' runs keep pytest's status."""
    gaps = session.config.stash.get(_INCOMPLETE, [])
    if exitstatus == 0 and gaps and not hasattr(session.config, "workerinput"):
        session.exitstatus = INCOMPLETE_EXIT_STATUS


def coverage_of(item, target, property_id):
    """What the report records of a passing property's coverage (None: not tracked)."""
    if property_id not in coverage.MUST_CONTAIN:
        return None
    seen = item.config.stash[_COVERAGE]
    needed = coverage.applicable_to(property_id, target.backend)
    done = item.stash.get(TOPPED_UP, None) or _done(seen.missing(target, property_id))
    return {"needed": list(needed), "covered": sorted(seen.covered(target, property_id) & set(needed)), **done}
