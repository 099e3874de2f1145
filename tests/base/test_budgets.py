"""Compiled modes draw profiles.COMPILED_EXAMPLES per forward property under `ci` and `dev`
(conformance/base/budgets.py), cheap modes (Backend.cheap_modes) profiles.CHEAP_EXAMPLES and
CHEAP_GRADIENT_EXAMPLES; other eager modes, gradient properties elsewhere, `thorough` and
an explicit --max-examples keep their own count."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from conformance.base import budgets
from conformance.base import profiles
from conformance.properties import test_agreement

ROOT = Path(__file__).resolve().parents[2]


class _Config:
    def __init__(self, max_examples=None):
        self.max_examples = max_examples

    def getoption(self, name):
        assert name == "--max-examples"
        return self.max_examples


def _under(profile, check):
    previous = settings._current_profile
    try:
        settings.load_profile(profile)
        return check()
    finally:
        settings.load_profile(previous)


def test_a_forward_property_in_a_compiled_mode_draws_the_compiled_budget():
    for profile, count in profiles.COMPILED_EXAMPLES.items():
        assert _under(profile, lambda: budgets.compiled_examples(_Config(), profiles.PROFILE_EXAMPLES[profile])) == count


def test_a_cheap_mode_draws_twice_the_examples_forward_and_gradient():
    from conformance.backends import get_backend
    from conformance.judge.targets import Target

    cheap, slow = Target(get_backend("keras-numpy"), "eager"), Target(get_backend("keras-jax"), "eager")
    for profile in ("ci", "dev"):
        forward, gradient = profiles.PROFILE_EXAMPLES[profile], profiles.GRADIENT_EXAMPLES[profile]
        assert _under(profile, lambda: budgets.examples_for(_Config(), cheap, forward)) == profiles.CHEAP_EXAMPLES[profile] == 2 * forward
        assert _under(profile, lambda: budgets.examples_for(_Config(), cheap, gradient)) == profiles.CHEAP_GRADIENT_EXAMPLES[profile] == 2 * gradient
        assert _under(profile, lambda: budgets.examples_for(_Config(), slow, forward)) is None
    assert _under("ci", lambda: budgets.examples_for(_Config(max_examples=3), cheap, 3)) is None
    assert _under("thorough", lambda: budgets.examples_for(_Config(), cheap, profiles.PROFILE_EXAMPLES["thorough"])) is None


def test_gradient_properties_thorough_and_an_explicit_count_keep_their_own():
    gradient = profiles.GRADIENT_EXAMPLES["ci"]
    assert _under("ci", lambda: budgets.compiled_examples(_Config(), gradient)) is None
    assert _under("ci", lambda: budgets.compiled_examples(_Config(max_examples=25), 25)) is None
    assert _under("thorough", lambda: budgets.compiled_examples(_Config(), profiles.PROFILE_EXAMPLES["thorough"])) is None


@pytest.mark.e2e
def test_a_ci_run_draws_fewer_examples_in_a_compiled_mode_than_in_eager(tmp_path):
    """End to end under pytest: the report's `drawn` per mode (keras-jax jit against the
    reference's eager mode, one property)."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "conformance/properties/test_agreement.py::test_agrees_with_reference", "--backends", "reference,keras-jax",
               "-k", "reference or jit", "--report", str(report), "--repro-dir", str(tmp_path / "repro")]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "CI": "true"}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    backends = json.loads(report.read_text())["backends"]
    speed = {b["name"]: b["speed"] for b in backends}
    # (plus one example per top-up run: conformance/harness/covering.py)
    top_ups = {(b["name"], r["mode"]): r["coverage"]["top_up_runs"] for b in backends for r in b["results"] if r.get("coverage")}
    explicit = len(test_agreement.test_agrees_with_reference.hypothesis_explicit_examples)
    assert speed["reference"]["eager"]["drawn"] == profiles.CHEAP_EXAMPLES["ci"] + explicit + top_ups["reference", "eager"]  # a cheap mode
    assert speed["keras-jax"]["jit"]["drawn"] == profiles.COMPILED_EXAMPLES["ci"] + explicit + top_ups["keras-jax", "jit"]
