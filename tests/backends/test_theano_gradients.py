"""keras2-theano's value-and-grad (conformance/backends/grad_theano.py) on fixed examples.

Runs in the Theano environment (.venv-theano/bin/python -m pytest tests/backends/test_theano_gradients.py);
elsewhere every test is skipped as not installed. G1: the gradients equal the reference's
central differences in float64 where the forward result agrees; G2: exactly zero at masked
inputs; one compiled function serves an example, its siblings and other loss weights.
The last test pins the G3 finding: NaN (or 0.0 outside a log or sqrt cell's domain) at
masked input steps makes Theano's gradients NaN although the forward result is exact (the
`T.switch` where trap).
"""

import numpy as np
import pytest

from cells.catalog import report_2018_example
from cells.example import Example, Options
from cells.resample import SIBLINGS, siblings
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec
from conformance.backends import get_backend
from conformance.judge.assertions import compare
from conformance.backends.base import gradient_mode
from conformance.contract.gradient_reference import reference_gradients
from conformance.contract.gradients import Gradients, loss_weights
from conformance.judge.runs import expected

BACKEND = get_backend("keras2-theano")
MISSING = BACKEND.missing_package()
pytestmark = [
    pytest.mark.e2e,  # `import theano` asks the C++ compiler its version, in a process
    pytest.mark.skipif(MISSING is not None,
                       reason=f"NOT INSTALLED: {MISSING} (keras2-theano runs in its own environment: {BACKEND.install_note})"),
]
MODE = "compiled"
# Measured on these examples: autodiff and central differences (eps 1e-6, float64) agree
# to 7e-9; 1e-6 leaves two orders of margin and is far below any real divergence (0.96).
G1_TOLERANCE = dict(rtol=1e-6, atol=1e-6)


def drawn(structure, batch, steps, mask=None, **options):
    """An example of `structure` with values drawn as the strategies draw them (seeded by
    its content through cells/resample.py, so the same on every run)."""
    dtype = structure.dtype
    zeros = lambda *shape: np.zeros(shape, dtype)  # noqa: E731
    base = Example(
        spec=CellSpec(structure, tuple((0.5,) * int(np.prod(s)) for s in structure.weight_shapes())),
        options=Options(**options),
        inputs=tuple(zeros(batch, steps, *s) for s in structure.input_shapes),
        initial_states=tuple(zeros(batch, *s.shape) for s in structure.states),
        constants=tuple(zeros(batch, *s) for s in structure.constant_shapes),
        mask=None if mask is None else np.array(mask, bool),
        mask_family="none" if mask is None else "per-sample",
    )
    return siblings(base, 1)[0]


def two_states(dtype="float64"):
    """Two dense states of different ranks, a dense output, a constant."""
    return CellStructure(
        input_shapes=((2,),),
        states=(StateSpec((2,)), StateSpec((2, 1, 2), activation="sigmoid")),
        outputs=(OutputSpec((3,)),),
        constant_shapes=((2,),),
        hidden=3,
        dtype=dtype,
    )


STATE0 = CellStructure(
    input_shapes=((1,),),
    states=(StateSpec((1, 3), activation="sigmoid"), StateSpec((1,), kind="counter")),
    outputs=(OutputSpec((1, 3), kind="state0", activation="linear"),),
    hidden=2,
    dtype="float64",
)
UNROLLED = dict(unroll=True, pass_input_length=True)  # Keras 2 unrolls only with input_length (a finding)
HOLES = [[1, 0, 1], [0, 1, 1]]  # includes a masked first step (finite inputs: R9's leak needs NaN)
G1_EXAMPLES = {
    # counter state and echo output: the hidden weights are unconnected (zeros)
    "report-2018": report_2018_example(dtype="float64"),
    "scan, masked": drawn(two_states(), 2, 3, HOLES),
    "unrolled backwards, masked": drawn(two_states(), 2, 3, HOLES, go_backwards=True, **UNROLLED),
    "scan backwards, no mask": drawn(STATE0, 3, 4, go_backwards=True),
    "unrolled, right-padded": drawn(STATE0, 3, 4, [[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], **UNROLLED),
}


def run(example, weights=None, backend=BACKEND):
    weights = loss_weights(expected(example), example.dtype) if weights is None else weights
    return backend.run_with_gradients(example, MODE, weights)


def assert_masked_inputs_zero(example, grads):
    """G2: dL/d inputs[b, t] is exactly zero where mask[b, t] is false."""
    if example.mask is not None:
        for grad in grads.inputs:
            assert np.all(grad[~example.mask] == 0), f"G2: non-zero gradient at masked inputs: {grad[~example.mask]}"


@pytest.mark.parametrize("name", list(G1_EXAMPLES))
def test_gradients_equal_the_reference_in_float64(name):
    """G1 (and G2) where the forward result agrees with the reference."""
    example = G1_EXAMPLES[name]
    weights = loss_weights(expected(example), "float64")
    result, grads = run(example, weights)
    assert not compare(result, expected(example), example), "the forward result differs: G1 is not checked there"
    assert isinstance(grads, Gradients)
    wanted = reference_gradients(example, weights)
    assert [n for n, _ in grads.leaves()] == [n for n, _ in wanted.leaves()]
    for (leaf, actual), (_, ideal) in zip(grads.leaves(), wanted.leaves()):
        assert actual.shape == ideal.shape, leaf
        np.testing.assert_allclose(actual, ideal, **G1_TOLERANCE, err_msg=f"G1: dL/d {leaf}")
    assert_masked_inputs_zero(example, grads)


def test_float32_masked_inputs_get_exactly_zero():
    """G2 in float32, where only exact zeros, finiteness and rough agreement are checked."""
    example = drawn(two_states("float32"), 2, 3, HOLES)
    _, grads = run(example)
    assert all(actual.dtype == np.float32 and np.all(np.isfinite(actual)) for _, actual in grads.leaves())
    assert_masked_inputs_zero(example, grads)
    ideal = reference_gradients(example, loss_weights(expected(example), "float64"))
    for (leaf, actual), (_, wanted) in zip(grads.leaves(), ideal.leaves()):
        np.testing.assert_allclose(actual, wanted, rtol=1e-3, atol=1e-4, err_msg=leaf)


def test_one_value_and_grad_function_serves_siblings_and_other_loss_weights():
    """Data, weights and loss weights are inputs of the compiled function, not constants:
    the siblings and a negated loss reuse it, and get their own gradients."""
    backend = type(BACKEND)()
    example = G1_EXAMPLES["scan, masked"]
    for sibling in [example, *siblings(example)]:
        weights = loss_weights(expected(sibling), "float64")
        _, grads = run(sibling, weights, backend)
        np.testing.assert_allclose(grads.weights[0], reference_gradients(sibling, weights).weights[0], **G1_TOLERANCE)
    weights = loss_weights(expected(example), "float64")
    negated = type(weights)(-weights.last_output, -weights.outputs, [-s for s in weights.new_states])
    _, grads = run(example, weights, backend)
    _, negative = run(example, negated, backend)
    for (_, a), (_, b) in zip(grads.leaves(), negative.leaves()):
        np.testing.assert_array_equal(-a, b)
    stats = backend.compile_stats
    assert stats[gradient_mode(MODE), "traced"] == 1 and stats[gradient_mode(MODE), "reused"] == SIBLINGS + 2
    backend.run(example, MODE)  # the forward function is kept apart from the gradient one
    assert stats[MODE, "traced"] == 1 and stats[gradient_mode(MODE), "traced"] == 1


def test_a_graph_keras2_cannot_build_is_a_counted_crash():
    """Nested inputs crash Keras 2's rnn (a declared finding); the gradient path counts it."""
    backend = type(BACKEND)()
    structure = CellStructure(input_shapes=((1,), (2,)), states=(StateSpec((2,)),), outputs=(OutputSpec((2,)),), dtype="float64")
    with pytest.raises(Exception):
        run(drawn(structure, 1, 2), backend=backend)
    assert backend.compile_stats[gradient_mode(MODE), "crashed"] == 1
    with pytest.raises(ValueError, match="no mode"):
        backend.run_with_gradients(G1_EXAMPLES["report-2018"], "eager", None)


def test_loss_weights_of_another_shape_are_a_crash_never_a_broadcast():
    """L is only formed from leaves of the contract's shapes: a size-1 weight where the
    result has B = 2, or a weight of another rank, raises instead of broadcasting."""
    example = G1_EXAMPLES["scan, masked"]
    weights = loss_weights(expected(example), "float64")
    one_sample = type(weights)(weights.last_output[:1], weights.outputs, list(weights.new_states))
    with pytest.raises(ValueError, match="(?i)mismatch"):
        run(example, one_sample)
    flattened = type(weights)(weights.last_output.ravel(), weights.outputs, list(weights.new_states))
    with pytest.raises(ValueError, match="shape"):
        run(example, flattened)


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize(
    "transform, fill, nan_weights",
    [("none", np.nan, ["weights[0]", "weights[1]", "weights[2]"]), ("log", 0.0, ["weights[0]"]), ("sqrt", 0.0, [])],
)
def test_finding_masked_steps_make_the_gradients_nan(unroll, transform, fill, nan_weights):
    """G3 finding (Keras 2.3.1 on Theano): B = 1, T = 2, the second step masked and NaN
    there, or the padding value 0.0 outside a log or sqrt cell's domain. The forward
    result is exact (R9 holds: the first step is valid), but gradients are NaN: the masked
    step's `T.switch(mask, new, old)` sends a zero cotangent into the step, and zero times
    the step's derivative there (NaN, or inf: 1/x, 1/(2 sqrt x) at 0) is NaN (the where trap
    of pytorch#52248). dL/d inputs at the masked step is NaN too, where G2 wants 0."""
    structure = CellStructure(
        input_shapes=((1,),), states=(), outputs=(OutputSpec((1,)),), hidden=1, dtype="float64", input_transform=transform
    )
    clean = Example(
        spec=CellSpec(structure, ((0.5,), (0.5,), (0.5,))),
        options=Options(unroll=unroll, pass_input_length=unroll),
        inputs=(np.array([[[0.5], [1.0]]]),),
        initial_states=(),
        constants=(),
        mask=np.array([[True, False]]),
        mask_family="right-padded",
    )
    poisoned = clean.changed(inputs=(np.array([[[0.5], [fill]]]),))
    weights = loss_weights(expected(clean), "float64")
    clean_result, clean_grads = run(clean, weights)
    result, grads = run(poisoned, weights)
    np.testing.assert_array_equal(result.outputs, clean_result.outputs)  # forward: inert (R9)
    assert all(np.all(np.isfinite(g)) for _, g in clean_grads.leaves())
    assert [leaf for leaf, g in grads.leaves() if leaf.startswith("weights") and np.all(np.isnan(g))] == nan_weights
    assert np.isnan(grads.inputs[0][0, 1, 0]) and grads.inputs[0][0, 0, 0] == clean_grads.inputs[0][0, 0, 0]
