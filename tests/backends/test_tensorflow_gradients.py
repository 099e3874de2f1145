"""The TensorFlow rows' gradients (CONTRACT.md section 5), on a few fixed examples.

Every TF row (fixed-tensorflow, tensorflow-2018, keras-tensorflow, tf-keras,
keras-legacy-tensorflow) in every mode agrees with the finite-difference reference in
float64 (G1); a compiled mode's value-and-grad function is traced once and reused by a
sibling; fixed-tensorflow keeps NaN, inf and 0.0 in a log cell's masked steps out of
every gradient (G3), where Keras' three TensorFlow loops do not (the where trap,
tensorflow#6209: a finding).
"""

from math import prod

import numpy as np
import pytest

from cells.example import Example, Options
from cells.gradient_strategies import FILLS, with_masked_fill
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec
from conformance.backends import get_backend
from conformance.backends.base import gradient_mode
from conformance.contract.gradient_reference import reference_gradients
from conformance.contract.gradients import batch_major, loss_weights
from conformance.judge.runs import expected

pytest.importorskip("tensorflow", reason="the TensorFlow rows need TensorFlow")

ROWS = ("fixed-tensorflow", "tensorflow-2018", "keras-tensorflow", "tf-keras", "keras-legacy-tensorflow")
WEIGHT_VALUES = (0.5, -0.5, 1.0, -0.75, 0.25, 1.5, -1.25, 0.125)
TOLERANCE = 1e-6  # central differences agree with autodiff to ~1e-8 here (CONTRACT.md section 5)


def example(transform="none", mask=None, batch=2, steps=3, dtype="float64", seed=0, constants=False, **options):
    """A small fixed example: one (2,) input leaf (through `transform`), a (2,) dense
    state and a (1, 2) one, a (3,) dense output, optionally a (2,) constant; inputs in
    the transform's domain (in [0.3, 1.8])."""
    structure = CellStructure(
        input_shapes=((2,),),
        states=(StateSpec((2,)), StateSpec((1, 2), activation="sigmoid")),
        outputs=(OutputSpec((3,)),),
        constant_shapes=((2,),) if constants else (),
        dtype=dtype,
        input_transform=transform,
    )
    values = lambda n, k: tuple(WEIGHT_VALUES[(i * 3 + k) % len(WEIGHT_VALUES)] for i in range(n))  # noqa: E731
    spec = CellSpec(structure, tuple(values(prod(shape), k) for k, shape in enumerate(structure.weight_shapes())))
    rng = np.random.default_rng(seed)
    uniform = lambda *shape: rng.uniform(0.3, 1.8, shape).astype(dtype)  # noqa: E731
    return Example(
        spec,
        Options(**options),
        inputs=(uniform(batch, steps, 2),),
        initial_states=(uniform(batch, 2), uniform(batch, 1, 2)),
        constants=(uniform(batch, 2),) if constants else (),
        mask=None if mask is None else np.asarray(mask, bool),
        mask_family="none" if mask is None else "per-sample",
    )


# G1 examples: a mask with a fully masked sample, options the Keras rows get right.
G1_EXAMPLES = {
    "no mask, constants": example(constants=True),
    "masked log cell, while_loop": example("log", [[1, 0, 1], [0, 0, 0]]),
    "masked sqrt cell, unrolled, time-major, backwards": example("sqrt", [[0, 1, 1], [1, 1, 0]], unroll=True, time_major=True, go_backwards=True),
}
# tensorflow-2018 emits states[0] at masked steps of its while_loop (keras#11472): its
# gradients are checked only where its forward results are right.
KNOWN_BAD_FORWARD = {("tensorflow-2018", "masked log cell, while_loop")}


def targets():
    for name in ROWS:
        backend = get_backend(name)
        if backend.missing_package() is None:
            for mode in backend.modes:
                yield name, mode


def gradients(backend, mode, ex):
    """(Result, batch-major Gradients) of L on `ex`, L weighted as the suite weighs it."""
    result, grads = backend.run_with_gradients(ex, mode, loss_weights(expected(ex), ex.dtype))
    return result, batch_major(grads, ex)


@pytest.fixture(scope="module")
def references():
    return {name: reference_gradients(ex, loss_weights(expected(ex), "float64")) for name, ex in G1_EXAMPLES.items()}


@pytest.mark.parametrize("name, mode", list(targets()))
def test_gradients_agree_with_the_reference(name, mode, references):
    """G1 and G2 on every TF row and mode, in float64."""
    backend = get_backend(name)
    assert backend.differentiates
    for case, ex in G1_EXAMPLES.items():
        if (name, case) in KNOWN_BAD_FORWARD:
            continue
        _, grads = gradients(backend, mode, ex)
        for (leaf, got), (_, want) in zip(grads.leaves(), references[case].leaves()):
            assert got.shape == want.shape, (case, leaf)
            np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE, err_msg=f"{name} {mode} {case}: {leaf}")
        if ex.mask is not None:  # G2: exactly zero where the mask is false
            assert np.all(grads.inputs[0][~ex.mask] == 0), (case, mode)


@pytest.mark.parametrize("mode", ["function", "xla"])
def test_a_sibling_reuses_the_value_and_grad_function(mode):
    """One trace per configuration: new values and new B and T reuse it (not under the
    forward function's key: that one is counted under `mode`)."""
    backend = type(get_backend("fixed-tensorflow"))()  # its own cache and counts
    first = example("log", [[1, 0, 1], [0, 1, 1]])
    sibling = example("log", [[1, 1, 0, 1]], batch=1, steps=4, seed=1)
    gradients(backend, mode, first)
    _, grads = gradients(backend, mode, sibling)
    stats = backend.compile_stats
    assert (stats[gradient_mode(mode), "traced"], stats[gradient_mode(mode), "reused"]) == (1, 1)
    assert stats[mode, "traced"] == 0  # the forward function was never built
    reference = reference_gradients(sibling, loss_weights(expected(sibling), "float64"))
    for (leaf, got), (_, want) in zip(grads.leaves(), reference.leaves()):
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE, err_msg=leaf)


# G3 examples (float32, as the property runs them): a log cell with masked steps, one with
# a fully masked sample, and one whose every input is masked.
G3_EXAMPLES = {
    "holes": example("log", [[1, 0, 1], [0, 1, 0]], dtype="float32"),
    "a fully masked sample, unrolled": example("log", [[0, 1, 1], [0, 0, 0]], dtype="float32", unroll=True),
    "everything masked": example("reciprocal", [[0, 0, 0], [0, 0, 0]], dtype="float32", constants=True),
    "everything masked, unrolled": example("sqrt", [[0, 0], [0, 0]], steps=2, dtype="float32", unroll=True),
}


@pytest.mark.parametrize("mode", get_backend("fixed-tensorflow").modes)
@pytest.mark.parametrize("case", list(G3_EXAMPLES))
def test_fixed_tensorflow_masked_steps_are_inert(case, mode):
    """G3: NaN, inf or 0.0 (outside log's, sqrt's and the reciprocal's domain) at every
    masked input gives finite gradients, equal to those of the clean example."""
    backend, clean = get_backend("fixed-tensorflow"), G3_EXAMPLES[case]
    clean_result, want = gradients(backend, mode, clean)
    for fill in FILLS:
        result, got = gradients(backend, mode, with_masked_fill(clean, fill))
        for (leaf, g), (_, w) in zip(got.leaves(), want.leaves()):
            assert np.all(np.isfinite(g)), f"{case} {mode}: {fill} at masked steps made {leaf} non-finite"
            np.testing.assert_array_equal(g, w, err_msg=f"{case} {mode}: {fill} at masked steps changed {leaf}")
        np.testing.assert_array_equal(result.last_output, clean_result.last_output)


@pytest.mark.parametrize("name", ["keras-tensorflow", "tf-keras", "keras-legacy-tensorflow"])
def test_keras_tensorflow_loops_fall_into_the_where_trap(name):
    """The finding this suite reports for the Keras TensorFlow loops (G3): their step
    runs on the raw masked input and `tf.where` drops the result, so NaN there becomes
    NaN in dL/dW (0 * NaN), and 0.0 in a log cell NaN/inf (0 * 1/0). If this starts
    failing, the loop was fixed: its declared G3 finding should go."""
    backend = get_backend(name)
    if backend.missing_package():
        pytest.skip(f"{name} needs {backend.missing_package()}")
    clean = G3_EXAMPLES["holes"]
    for fill in ("nan", "zero"):
        _, got = gradients(backend, "eager", with_masked_fill(clean, fill))
        assert not np.all(np.isfinite(got.weights[0])), (name, fill)
