"""Cells defined on part of the line and the gradient properties' examples (issue 16):
the input transforms compute the same everywhere, print as they run, travel through case
files, and the G1/G3/G4 strategies and facts draw and say what they promise."""

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from cells.build import make_step
from cells.case_schema import CaseError, parse_case
from cells.catalog import report_2018_example
from cells.gradient_strategies import (
    FILLS,
    domain_arrays,
    fills,
    gradient_examples,
    masked_positions,
    masked_step_examples,
    transformed_structures,
    with_masked_fill,
)
from cells.ops import get_ops
from cells.serialize import example_from_dict, example_to_dict
from cells.spec import ACTIVATIONS, INPUT_TRANSFORMS, CellSpec, OutputSpec, in_domain
from cells.strategies import cell_specs, data_arrays
from conformance.known.facts import example_facts
from array_libraries import OTHER_LIBRARIES, assert_rendered_step_is_make_step, assert_step_matches_numpy, converters

TRANSFORMS = [t for t in INPUT_TRANSFORMS if t != "none"]
MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "theano": "theano"}
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def transformed_step_calls(draw, dtype=st.sampled_from(["float32", "float64"])):
    """A cell with an input transform and one step of in-domain data."""
    structure = draw(transformed_structures(draw(dtype)).filter(lambda s: s.input_transform != "none"))
    spec = draw(cell_specs(st.just(structure)))
    batch = draw(st.integers(1, 3))
    leaves = [draw(domain_arrays(structure.input_transform, structure.dtype, (batch,) + structure.input_shapes[0]))]
    leaves += [draw(data_arrays(structure.dtype, (batch,) + shape)) for shape in structure.input_shapes[1:]]
    states = [draw(data_arrays(structure.dtype, (batch,) + s.shape, nonzero=True)) for s in structure.states]
    constants = [draw(data_arrays(structure.dtype, (batch,) + shape)) for shape in structure.constant_shapes]
    inputs = tuple(leaves) if structure.nested_inputs else leaves[0]
    return spec, inputs, tuple(states) + tuple(constants)


def _installed(library):
    if importlib.util.find_spec(MODULES[library]) is None:
        pytest.skip(f"NOT INSTALLED: {MODULES[library]} (its ops namespace is checked where it is installed)")


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_each_transform_is_the_numpy_one_in_every_library(library, transform):
    """Elementwise, on values inside and at the edge of the domain (0: -inf, 0, inf)."""
    _installed(library)
    convert, back = converters(library)
    for dtype in ("float32", "float64"):
        x = np.array([[0.25, 0.5, 1.0, 2.0, 1.75], [-0.25 if transform == "reciprocal" else 0.3, 0.0, 1.5, 0.125, 3.0]], dtype)
        expected = get_ops("numpy").transform(transform)(x)
        actual = back(get_ops(library).transform(transform)(convert(x)))
        assert actual.dtype == expected.dtype
        np.testing.assert_allclose(actual, expected, rtol=2e-7 if dtype == "float32" else 1e-15)


def _derivative(library, function, x):
    """d function / dx, elementwise, by the library's own autodiff (NumPy in and out)."""
    if library == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return np.asarray(jax.vmap(jax.grad(function))(x))
    if library == "torch":
        import torch

        leaf = torch.from_numpy(x).requires_grad_()
        function(leaf).sum().backward()
        return leaf.grad.numpy()
    import tensorflow as tf

    leaf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(leaf)
        value = function(leaf)
    return tape.gradient(value, leaf).numpy()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("library", ["tensorflow", "jax", "torch"])
def test_every_activation_has_its_derivative_where_it_saturates(library, activation):
    """Found by soak seed 7008: JaxOps' sigmoid was 1 / (1 + exp(-x)), whose derivative is
    0 * inf = NaN once exp(-x) overflows, so keras-jax's gradients of a cell whose linear
    state grew past 709 were NaN (G1) while the backend was right. The derivative at
    +-800 must be the analytic one (0 for sigmoid and tanh, 1 for linear)."""
    _installed(library)
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    got = _derivative(library, get_ops(library).activation(activation), x)
    with np.errstate(over="ignore"):
        value = get_ops("numpy").activation(activation)(x)
    want = {"linear": np.ones_like(x), "tanh": 1 - value**2, "sigmoid": value * (1 - value)}[activation]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
@FAST
@given(case=transformed_step_calls())
def test_every_library_computes_the_numpy_step_of_a_transformed_cell(library, case):
    _installed(library)
    assert_step_matches_numpy(library, *case)


@settings(max_examples=60, deadline=None)
@given(case=transformed_step_calls())
def test_rendered_source_computes_the_transformed_step(case):
    """The printed NumPy source applies the transform exactly as make_step does."""
    assert_rendered_step_is_make_step(*case)


@pytest.mark.parametrize("transform", INPUT_TRANSFORMS)
def test_the_transform_reads_the_first_leaf_and_echo_keeps_the_raw_inputs(transform):
    """A one-state dense cell with an echo output: the state sees f(x0), the echo x0."""
    example = report_2018_example()
    s = example.structure
    structure = replace(s, input_transform=transform, states=(replace(s.states[0], kind="dense", activation="linear"),),
                        outputs=(OutputSpec((1,), "echo", "linear"),), hidden_activation="linear", hidden=1)
    spec = CellSpec(structure, ((1.0, 0.0), (0.0,), (1.0,)))  # z = x0' (u = [x0', s0]), new s0 = z
    x = np.array([[0.5], [2.0]], "float32")
    output, (state,) = make_step(structure, get_ops("numpy"), spec.weight_arrays())(x, (np.ones((2, 1), "float32"),))
    np.testing.assert_array_equal(output, x)
    np.testing.assert_array_equal(state, get_ops("numpy").transform(transform)(x))
    assert transform == "none" or not np.array_equal(state, x)
    assert transform == "none" or f"input-{transform}" in structure.families()


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_transform_family_is_drawn(transform):
    found = find(transformed_structures("float32"), lambda s: f"input-{transform}" in s.families(),
                 settings=settings(max_examples=500, database=None))
    assert found.input_transform == transform


def _case(example):
    return {"backend": "keras-numpy", "mode": "eager", "property": "test_gradients::test_g3", "rule": "G3",
            "summary": "s", "drawn": {}, "example": example_to_dict(example)}


def test_the_schema_refuses_an_unknown_transform_in_one_line():
    case = _case(report_2018_example())
    case["example"]["structure"]["input_transform"] = "exp"
    with pytest.raises(CaseError) as error:
        parse_case(json.dumps(case))
    assert str(error.value) == "example.structure.input_transform: 'exp' is not one of none, log, sqrt, reciprocal"


def test_every_saved_case_loads_unchanged_with_no_transform():
    """Cases saved before input_transform existed read as "none", later ones as stored (a
    gradient finding's case may hold a log cell), and every one writes back the same."""
    paths = sorted((Path(__file__).resolve().parents[2] / "conformance" / "known").glob("*.json"))
    assert paths
    for path in paths:
        case = json.loads(path.read_text())
        parse_case(path.read_text())
        for key in ("example", "diverging_example"):
            if key in case:
                example = example_from_dict(case[key])
                stored = case[key]["structure"].get("input_transform", "none")  # absent in cases saved before it
                assert example.structure.input_transform == stored
                same = json.dumps(example_to_dict(example), sort_keys=True) == json.dumps(case[key], sort_keys=True)
                assert same, path.name  # compared as JSON text: a stored NaN is not == itself


@settings(max_examples=30, deadline=None)
@given(example=masked_step_examples(), fill=fills)
def test_a_filled_example_survives_a_case_file(example, fill):
    """NaN and inf at masked positions and the transform come back from JSON exactly."""
    filled = with_masked_fill(example, fill)
    case = _case(filled)
    loaded = example_from_dict(parse_case(json.dumps(case, indent=1))["example"])
    assert loaded.structure == filled.structure
    for a, b in zip(loaded.inputs, filled.inputs):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)  # NaN equal to NaN, position by position
    assert example_facts(loaded)["masked_fill"] == example_facts(filled)["masked_fill"]


@settings(max_examples=40, deadline=None)
@given(example=masked_step_examples(), fill=fills)
def test_with_masked_fill_touches_exactly_the_masked_positions(example, fill):
    masked = ~example.mask  # from the mask itself, not from the module's own helper
    assert masked.any() and example.dtype == "float32"
    assert (masked_positions(example) == masked).all()
    filled = with_masked_fill(example, fill)
    value = {"nan": np.nan, "inf": np.inf, "zero": 0.0}[fill]
    for before, after in zip(example.inputs, filled.inputs):
        assert after.dtype == before.dtype and after.shape == before.shape
        np.testing.assert_array_equal(after[~masked], before[~masked])
        np.testing.assert_array_equal(after[masked], np.full_like(after[masked], value))
    assert filled.mask is example.mask and filled.spec is example.spec


@settings(max_examples=40, deadline=None)
@given(example=masked_step_examples(), fill=fills)
def test_the_facts_say_what_the_masked_positions_hold(example, fill):
    clean = example_facts(example)
    assert clean["masked_fill"] == "none" and clean["input_transform"] == example.structure.input_transform
    expected = {"nan": "nan", "inf": "inf"}.get(fill, "none" if example.structure.input_transform == "none" else "outside-domain")
    assert example_facts(with_masked_fill(example, fill))["masked_fill"] == expected


def test_the_masked_fill_fact_reports_the_first_that_applies():
    """nan before inf before outside-domain, and only values at masked positions count."""
    example = report_2018_example()  # mask [[1, 1, 0]]
    example = example.changed(spec=CellSpec(replace(example.structure, input_transform="log"), example.spec.weights))
    x = example.inputs[0].copy()
    assert example_facts(example.changed(inputs=(np.full_like(x, -1.0),)))["masked_fill"] == "outside-domain"
    x[0, :2] = np.nan  # unmasked: not the fact's business
    x[0, 2] = 1.0
    assert example_facts(example.changed(inputs=(x,)))["masked_fill"] == "none"
    x[0, 2] = np.inf
    assert example_facts(example.changed(inputs=(x,)))["masked_fill"] == "inf"
    assert example_facts(example.changed(inputs=(x,), mask=None))["masked_fill"] == "none"
    x[0, 1] = np.nan
    assert example_facts(example.changed(inputs=(x,), mask=np.array([[True, False, False]])))["masked_fill"] == "nan"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_gradient_examples_keep_transformed_inputs_inside_the_domain(dtype, data):
    """G1/G4 examples: every value of a transformed leaf, masked or not, in the domain."""
    example = data.draw(gradient_examples(dtype))
    assert example.dtype == dtype
    assert in_domain(example.structure.input_transform, example.inputs[0]).all()
    assert np.abs(example.inputs[0]).min() >= 0.25 or example.structure.input_transform == "none"
    assert example_facts(example)["masked_fill"] == "none"


def test_the_strategies_shrink_to_the_simplest_example():
    """A failure that needs a log cell shrinks to B = 1, T = 1 and the simplest mask, the
    first (only) step masked for G3 (the G1/G4 strategy shares its parts and its order). (A predicate that holds for every
    example is no test of this: Hypothesis then stops shrinking early.)"""
    quick = settings(max_examples=300, database=None)
    masked = find(masked_step_examples(), lambda e: e.structure.input_transform == "log", settings=quick)
    assert (masked.batch, masked.steps, masked.mask.tolist()) == (1, 1, [[False]])
    assert INPUT_TRANSFORMS[0] == "none" and find(fills, lambda f: True) == FILLS[0] == "nan"


@pytest.mark.parametrize("family", ["right-padded", "left-padded", "per-sample"])
def test_a_mask_drawn_all_true_gets_a_false_entry_and_keeps_its_family(family):
    """G3 needs a masked step: the families that may draw none get one, in their own shape."""
    from cells.gradient_strategies import _with_a_false_entry

    for batch, steps in ((1, 1), (2, 3)):
        mask = _with_a_false_entry(np.ones((batch, steps), bool), family)
        assert mask.sum() == batch * steps - 1
        rows = np.diff(mask.astype(int), axis=1)
        assert {"right-padded": (rows <= 0).all(), "left-padded": (rows >= 0).all()}.get(family, True)


def test_an_unknown_fill_is_refused():
    with pytest.raises(ValueError, match="unknown fill 'minus-one'"):
        with_masked_fill(report_2018_example(), "minus-one")
