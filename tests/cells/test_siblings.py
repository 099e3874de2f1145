"""Siblings (cells/resample.py): more data sets per compiled configuration.

They must keep everything a trace depends on and change every value, replay exactly, and
run (and be reported) in compiled modes only. The bug they exist for: a compiled loop that
baked the first example's weights into its trace is right on every first call.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from cells.gradient_strategies import gradient_examples
from cells.layer_example import MASK_VALUE
from cells.layer_strategies import layer_examples
from cells.resample import SIBLINGS, siblings
from cells.strategies import examples
from conformance.judge import run_state
from conformance.properties import test_agreement
from conformance.judge.assertions import Divergence
from conformance.backends import get_backend
from conformance.backends.base import Backend
from conformance.known.ledger import Ledger, load
from conformance.judge.targets import Target

FEW = settings(max_examples=30, database=None, derandomize=True, deadline=None)


def _arrays(example):
    return [*example.inputs, *example.initial_states, *example.constants]


@FEW
@given(example=examples())
def test_siblings_keep_the_configuration_and_change_the_values(example):
    for sibling in siblings(example):
        assert sibling.structure == example.structure and sibling.options == example.options
        assert (sibling.batch, sibling.steps, sibling.mask_family) == (example.batch, example.steps, example.mask_family)
        assert sibling.mask is example.mask or np.array_equal(sibling.mask, example.mask)
        assert [(a.shape, a.dtype) for a in _arrays(sibling)] == [(a.shape, a.dtype) for a in _arrays(example)]
        assert not np.array_equal(sibling.inputs[0], example.inputs[0])
        assert all(np.abs(s).min() >= 0.25 for s in sibling.initial_states)  # non-zero, as drawn


@FEW
@given(example=examples())
def test_siblings_replay_exactly(example):
    first, again = siblings(example), siblings(example)
    assert len(first) == SIBLINGS
    for a, b in zip(first, again):
        assert a.spec == b.spec
        assert all(np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b)))


@FEW
@given(example=layer_examples(min_stacked=0, max_stacked=2))
def test_layer_siblings_keep_the_masking_value_where_masked_only(example):
    for sibling in siblings(example):
        x = sibling.inputs[0]
        masked = np.zeros(x.shape[:2], bool) if example.mask is None else ~example.mask
        assert np.all(x[masked] == MASK_VALUE) and np.all(x[~masked] != MASK_VALUE)
        assert [s.structure for s in sibling.specs] == [s.structure for s in example.specs]
        assert sibling.layer == example.layer


class WeightsBakedIn(Backend):
    """A compiled mode whose trace kept the first example's weights as constants: the
    reference loop, run with the weights first seen for each structure and options."""

    name = "weights-baked-in"
    modes = ("compiled", "eager")
    compiled_modes = ("compiled",)

    def __init__(self):
        self._traced_weights = {}

    def run(self, example, mode):
        spec = self._traced_weights.setdefault((example.structure, example.options), example.spec)
        return get_backend("reference").run(example.changed(spec=spec), "eager")


def _drawn_example():
    """The first example the derandomized strategy draws."""
    drawn = []

    @settings(FEW, max_examples=1)
    @given(example=examples())
    def collect(example):
        drawn.append(example)

    collect()
    return drawn[0]


def test_a_compiled_mode_is_checked_on_the_siblings_too():
    example = _drawn_example()
    target = Target(WeightsBakedIn(), "compiled")
    with run_state.running() as run, pytest.raises(Divergence) as failure:
        test_agreement.test_agrees_with_reference.hypothesis.inner_test(target=target, example=example)
    assert run.data_sets_run[target.id] == 2  # the example passed; its first sibling failed
    assert "Data set 2 of 5" in "\n".join(getattr(failure.value, "__notes__", []))
    assert failure.value.property_input is not example  # the sibling, so that it replays


def test_an_eager_mode_runs_the_drawn_example_only():
    example = _drawn_example()
    target = Target(WeightsBakedIn(), "eager")
    with run_state.running() as run:
        test_agreement.test_agrees_with_reference.hypothesis.inner_test(target=target, example=example)
    assert run.data_sets_run[target.id] == 1


class CrashesWhenCompiled(Backend):
    name = "crashes-when-compiled"
    packages = ("numpy",)
    modes = compiled_modes = ("compiled",)

    def run(self, example, mode):
        raise ValueError("cannot trace this")


def test_after_a_declared_crash_the_siblings_are_not_run(tmp_path):
    """They would crash the same way: a crash is about the configuration, not the values."""
    entry = dict(
        id="crash", backend=CrashesWhenCompiled.name, package="numpy", versions=">=1", modes=["compiled"],
        condition="batch >= 1", rule="crash: ValueError: cannot trace", property="test_agreement::test_agrees_with_reference",
        reason="r", example="e.json",
    )
    # known.load checks that the entry's case file is a valid case: give it a real one.
    shutil.copy(Path(__file__).resolve().parents[2] / "conformance/known/keras-jax-masked-output-from-states0.json", tmp_path / "e.json")
    path = tmp_path / "known.toml"
    path.write_text("[[divergence]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in entry.items()))
    target = Target(CrashesWhenCompiled(), "compiled")
    with run_state.running(run_state.RunState(ledger=Ledger(load(path)))) as run:
        test_agreement.test_agrees_with_reference.hypothesis.inner_test(target=target, example=_drawn_example())
    assert run.data_sets_run[target.id] == 1


@settings(max_examples=30, deadline=None)
@given(example=gradient_examples("float64"))
def test_siblings_keep_the_input_leaf_of_a_transform_inside_its_domain(example):
    """A log, sqrt or reciprocal cell's siblings must stay where the step is defined, or
    every sibling of a compiled mode reports NaN that the contract allows (found on keras-jax jit)."""
    from cells.spec import in_domain

    for sibling in siblings(example):
        assert in_domain(example.structure.input_transform, sibling.inputs[0]).all()
