"""Which failures a declared divergence excuses: its rule or declared crash, and only where
its condition holds for a run that was compared (fast: no backend needed, but for one saved
case replayed on keras-tensorflow)."""

import json
import shutil
from pathlib import Path

import pytest

from cells.catalog import report_2018_example
from conformance.assertions import Divergence
from conformance.backends import get_backend
from conformance.known import Ledger, load
from conformance.repro import load_case
from conformance.targets import Target

CASE = Path(__file__).resolve().parents[1] / "conformance/known/keras-jax-masked-output-from-states0.json"


def declared(tmp_path, **fields):
    entry = dict(
        id="e", backend="reference", package="numpy", versions=">=1", modes=["eager"],
        condition="masked and not unroll", rule="R4", property="p::q", reason="r", example="e.json",
    )
    entry.update(fields)
    # known.load checks that each entry's case file is a valid case: give it a real one.
    shutil.copy(CASE, tmp_path / "e.json")
    path = tmp_path / "known.toml"
    path.write_text("[[divergence]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in entry.items()))
    return load(path)[0]


def divergence(rule="R4", crash=None, runs=None):
    example = report_2018_example(repeats=1)  # masked, unroll=False
    found = Divergence(rule, "differs", example=example)
    found.crash = crash
    if runs is not None:
        found.runs = runs
    return found


def test_rule_entry_excuses_its_rule_only(tmp_path):
    entry = declared(tmp_path)
    assert entry.describes(divergence("R4"))
    assert not entry.describes(divergence("R3"))
    assert not entry.describes(divergence("R4", crash="ValueError: boom"))


def test_shows_as_lists_crashes_and_other_rules(tmp_path):
    entry = declared(tmp_path, shows_as=["R10", "crash: ValueError: bo"])
    assert entry.describes(divergence("R10"))
    assert entry.describes(divergence("R2", crash="ValueError: boom"))
    assert not entry.describes(divergence("R4"))  # the rule itself is no longer listed
    assert not entry.describes(divergence("R2", crash="TypeError: boom"))
    assert declared(tmp_path, shows_as=["crash"]).describes(divergence(crash="TypeError: x"))
    assert declared(tmp_path, shows_as=["any"]).describes(divergence("R13"))


def test_condition_must_hold_for_one_compared_run(tmp_path):
    entry = declared(tmp_path)
    masked = report_2018_example(repeats=1)
    unrolled = masked.changed(options={"unroll": True})
    assert entry.holds_for_any_run(divergence(runs=(unrolled, masked)))
    assert not entry.holds_for_any_run(divergence(runs=(unrolled,)))


def test_a_wrong_output_shape_that_breaks_the_gradient_loss_is_its_forward_entry():
    """keras-tensorflow's unrolled zero_output_for_mask keeps all T steps of `outputs`: the
    gradient properties cannot pair them with L's weights and report a crash ("the
    contract's result has ..."), which the forward entry declares (found by a thorough run)."""
    backend = get_backend("keras-tensorflow")
    if backend.missing_package():
        pytest.skip(f"needs {backend.missing_package()}")
    body, example, drawn = load_case(str(Path(__file__).parent / "cases" / "keras-tensorflow-gradient-of-all-steps-output.json"))
    target = Target(backend, "eager")
    ledger = Ledger(load())
    try:
        body(target=target, example=example, **drawn)
    except Divergence as found:
        assert found.crash is not None and "the contract's result has" in found.crash
        assert ledger.excuse(target, found).id == "keras-tensorflow-unrolled-zero-output-keeps-all-steps"
    else:
        raise AssertionError("the case no longer diverges on keras-tensorflow")
