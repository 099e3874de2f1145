"""Cells as data: every family is drawn, every library computes the same step, and the
printed source computes what the spec says."""

import importlib.util

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from cells.strategies import MASK_FAMILIES, cell_specs, cell_structures, data_arrays, masks
from array_libraries import OTHER_LIBRARIES, assert_rendered_step_is_make_step, assert_step_matches_numpy

FAMILIES = (
    "output-is-state0",
    "output-shaped-like-state0",
    "output-unlike-every-state",
    "several-states-of-different-ranks",
    "rank-3-state",
    "counter-state",
    "reads-constants",
    "no-state",
    "nested-output",
    "nested-inputs",
)


@st.composite
def step_calls(draw):
    """A cell spec with one step's worth of data: (spec, inputs_t, states_and_constants)."""
    spec = draw(cell_specs())
    s = spec.structure
    batch = draw(st.integers(1, 3))
    leaves = [draw(data_arrays(s.dtype, (batch,) + shape)) for shape in s.input_shapes]
    states = [draw(data_arrays(s.dtype, (batch,) + st_.shape, nonzero=True)) for st_ in s.states]
    constants = [draw(data_arrays(s.dtype, (batch,) + shape)) for shape in s.constant_shapes]
    inputs = tuple(leaves) if s.nested_inputs else leaves[0]
    return spec, inputs, tuple(states) + tuple(constants)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_is_drawn(family):
    """The strategies reach each family the design card asks for."""
    found = find(cell_structures(), lambda s: family in s.families(), settings=settings(max_examples=2000, database=None))
    assert family in found.families()


def test_families_are_recognised_on_known_cells():
    """`families()` is a real classifier: a plain one-state dense cell is in none of the rare ones."""
    from cells.catalog import report_2018_spec

    labels = report_2018_spec().structure.families()
    assert "counter-state" in labels and "no-state" not in labels and "nested-output" not in labels


@given(step_calls())
def test_rendered_source_computes_the_same_step(case):
    """The printed NumPy source is the spec: exec it and compare with make_step."""
    assert_rendered_step_is_make_step(*case)


def test_specs_are_frozen_and_hashable():
    spec = find(cell_specs(), lambda s: True)
    assert hash(spec) == hash(spec)
    with pytest.raises(AttributeError):
        spec.weights = ()


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
@settings(max_examples=15, deadline=None)
@given(case=step_calls())
def test_every_library_computes_the_numpy_step(library, case):
    """The same spec gives the same step results in each array library (where installed)."""
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "theano": "theano"}[library]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"NOT INSTALLED: {module} (its ops namespace is checked where it is installed)")
    assert_step_matches_numpy(library, *case)


@pytest.mark.parametrize("family", MASK_FAMILIES)
@given(data=st.data(), batch=st.integers(1, 4), steps=st.integers(1, 6))
def test_mask_families_have_their_shape(family, data, batch, steps):
    """Each mask family is what its name says."""
    mask = data.draw(masks(batch, steps, family))
    if family == "none":
        assert mask is None
        return
    assert mask.shape == (batch, steps) and mask.dtype == bool
    checks = {
        "all-true": lambda m: m.all(),
        "all-false": lambda m: not m.any(),
        "first-step-masked": lambda m: not m[:, 0].any() and m[:, 1:].all(),
        "right-padded": lambda m: all((np.diff(row.astype(int)) <= 0).all() for row in m),
        "left-padded": lambda m: all((np.diff(row.astype(int)) >= 0).all() for row in m),
        "interior-holes": lambda m: m[:, 0].all() and m[:, -1].all() and (steps < 3 or not m.all()),
        "one-fully-masked-row": lambda m: (~m).all(axis=1).any(),
    }
    if family != "per-sample":  # any (B, T) boolean array is a per-sample mask
        assert checks[family](mask)


def test_an_example_line_shows_only_what_differs_from_the_defaults():
    """The minimal example line: B, T, dtype, mask and families always; options only
    where they differ from their defaults (in field order, so the line is deterministic)."""
    from cells.catalog import report_2018_example
    from cells.layer_example import LayerExample, LayerOptions

    plain = repr(report_2018_example())
    assert plain == ("Example(B=1, T=3, dtype=float32, mask_family='right-padded', mask=[[1,1,0]], "
                     "families=['counter-state', 'output-shaped-like-state0'])")
    changed = repr(report_2018_example(go_backwards=True, mask_format="int32"))
    assert "mask=[[1,1,0]], go_backwards=True, mask_format='int32', families=" in changed and "unroll" not in changed
    example = report_2018_example()
    layer = LayerExample(**{f: getattr(example, f) for f in ("spec", "options", "inputs", "initial_states", "constants", "mask", "mask_family")},
                         layer=LayerOptions(bidirectional=True))
    assert repr(layer.changed(options={"return_all_outputs": False})) == (
        "LayerExample(B=1, T=3, dtype=float32, mask_family='right-padded', mask=[[1,1,0]], return_sequences=False, "
        "bidirectional=True, families=['counter-state', 'output-shaped-like-state0'])")


FORMERLY_CYCLIC = ("conformance.judge.assertions", "conformance.replay.repro", "conformance.judge.runs", "conformance.replay.function_script",
                   "cells.keras_script", "cells.layer_example", "cells.case_schema")


@pytest.mark.e2e
def test_each_module_of_the_former_cycles_imports_first_in_a_fresh_interpreter():
    import subprocess
    import sys

    runs = [subprocess.Popen([sys.executable, "-c", f"import {m}"], stderr=subprocess.PIPE, text=True) for m in FORMERLY_CYCLIC]
    failed = {m: run.communicate(timeout=300)[1] for m, run in zip(FORMERLY_CYCLIC, runs) if run.wait() != 0}
    assert failed == {}
