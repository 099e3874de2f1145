"""Gradients of keras-jax (eager, jit), keras-torch and --impl (CONTRACT.md section 5, G1).

On fixed float64 examples the adapters' gradients (grad_jax, grad_torch, grad_tensorflow
via --impl) equal the central-difference reference; the jitted value-and-grad function of
a configuration is traced once and reused by its siblings; --impl differentiates exactly
when its ops have autodiff.
"""

import numpy as np
import optree
import pytest

from cells.example import Example, Options
from cells.resample import siblings
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec
from cells.strategies import WEIGHT_VALUES
from conformance.backends.base import Result, gradient_mode
from conformance.backends.impl import ImplBackend
from conformance.backends.keras_jax import KerasJax
from conformance.backends.keras_torch import KerasTorch
from conformance.contract.gradient_reference import reference_gradients
from conformance.contract.gradients import DIFFERENTIATED, batch_major, loss_weights
from conformance.judge.runs import expected

# Autodiff and central differences agree to ~1e-8 here (measured: 7e-10 keras-jax, 1e-9
# keras-torch, 8e-9 the torch --impl loop); a real divergence is orders larger (G1).
TOLERANCE = 1e-6


def _example(structure, batch, steps, options, mask=None, seed=0):
    """A float64 example with exact binary-fraction weights and data in [-2, 2]."""
    rng = np.random.default_rng(seed)
    weights = tuple(tuple(rng.choice(WEIGHT_VALUES, size=int(np.prod(s))).tolist()) for s in structure.weight_shapes())
    data = lambda shape: rng.uniform(-2, 2, size=shape)  # noqa: E731
    nonzero = lambda shape: rng.choice([-1, 1], size=shape) * rng.uniform(0.25, 2, size=shape)  # noqa: E731
    return Example(
        spec=CellSpec(structure, weights),
        options=options,
        inputs=tuple(data((batch, steps) + s) for s in structure.input_shapes),
        initial_states=tuple(nonzero((batch,) + s.shape) for s in structure.states),
        constants=tuple(data((batch,) + s) for s in structure.constant_shapes),
        mask=mask,
        mask_family="none" if mask is None else "per-sample",
    )


# One input and one output, at least one state, masked runs unrolled or with
# zero_output_for_mask, time-major with B >= T: configurations every adapter here runs
# right forward (known_divergences.toml declares the others: nested inputs or outputs,
# keras-jax's masked output from states[0] and constants dropped without unroll,
# keras-torch's unrolled go_backwards mask and time-major B < T).
EXAMPLES = {
    "dense-state-constants-right-padded": _example(
        CellStructure(((2,),), (StateSpec((2,)),), (OutputSpec((3,)),), constant_shapes=((2,),), dtype="float64"),
        2, 3, Options(unroll=True), mask=np.array([[1, 1, 1], [1, 1, 0]], bool), seed=1,
    ),
    "two-states-backwards-time-major": _example(
        CellStructure(((1,),), (StateSpec((2,), activation="sigmoid"), StateSpec((3,), kind="counter")),
                      (OutputSpec((2,), activation="sigmoid"),), hidden=3, dtype="float64"),
        3, 3, Options(go_backwards=True, time_major=True, zero_output_for_mask=True, mask_format="int32"),
        mask=np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], bool), seed=2,
    ),
    "rank-2-state-echo-unrolled-last-output": _example(
        CellStructure(((3,),), (StateSpec((2, 2), activation="linear"),), (OutputSpec((3,), kind="echo", activation="linear"),),
                      dtype="float64"),
        1, 3, Options(unroll=True, return_all_outputs=False, pass_input_length=True), seed=3,
    ),
    "rank-2-input-unrolled-mask": _example(
        CellStructure(((2, 2),), (StateSpec((2,)),), (OutputSpec((1, 2, 2), activation="sigmoid"),), hidden=1, dtype="float64"),
        3, 2, Options(unroll=True, mask_format="float"), mask=np.array([[1, 1], [0, 1], [1, 0]], bool), seed=4,
    ),
}
TARGETS = [(KerasJax, "eager"), (KerasJax, "jit"), (KerasTorch, "eager")]


def _flat(result):
    return [np.asarray(leaf) for part in ("last_output", "outputs", "new_states") for leaf in optree.tree_leaves(getattr(result, part))]


def _assert_reference_gradients(backend, mode, example):
    """The backend's forward result agrees (else its gradients mean nothing) and its
    gradients equal the reference's, leaf by leaf, each of its argument's shape."""
    weights = loss_weights(expected(example), example.dtype)
    result, gradients = backend.run_with_gradients(example, mode, weights)
    assert isinstance(result, Result)
    for got, want in zip(_flat(result), _flat(expected(example)), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    reference = reference_gradients(example, weights)
    got = dict(batch_major(gradients, example).leaves())
    want = dict(reference.leaves())
    assert list(got) == list(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
        np.testing.assert_allclose(got[name], want[name], rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)
    return gradients


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize(("adapter", "mode"), TARGETS, ids=lambda v: getattr(v, "name", v))
def test_gradients_equal_the_reference(adapter, mode, name):
    backend = adapter()
    assert backend.differentiates
    gradients = _assert_reference_gradients(backend, mode, EXAMPLES[name])
    # Inputs come back in the layout they were passed (time-major where the example is).
    example = EXAMPLES[name]
    passed = example.call_arguments()["inputs"]
    assert gradients.inputs[0].shape == np.shape(passed)


def test_jit_value_and_grad_is_traced_once_and_reused_by_siblings():
    backend = KerasJax()
    example = EXAMPLES["dense-state-constants-right-padded"]
    _assert_reference_gradients(backend, "jit", example)
    family = siblings(example)
    for sibling in family:  # new weights and data in the same trace: still the reference's
        _assert_reference_gradients(backend, "jit", sibling)
    grad = gradient_mode("jit")
    assert backend.compile_stats[grad, "traced"] == 1
    assert backend.compile_stats[grad, "reused"] == len(family) >= 1
    # The forward function is its own entry, counted under "jit" (not the gradient's).
    backend.run(example, "jit")
    assert backend.compile_stats["jit", "traced"] == 1 and backend.compile_stats[grad, "traced"] == 1


def test_impl_differentiates_where_its_ops_have_autodiff():
    assert not ImplBackend("tests.impls.numpy_rnn:rnn", "numpy").differentiates
    with pytest.raises(NotImplementedError):
        example = EXAMPLES["dense-state-constants-right-padded"]
        ImplBackend("tests.impls.numpy_rnn:rnn", "numpy").run_with_gradients(example, "eager", loss_weights(expected(example), "float64"))
    assert all(ImplBackend("tests.impls.torch_rnn:rnn", ops).differentiates for ops in ("tensorflow", "jax", "torch"))


@pytest.mark.e2e  # the --impl loop runs in a worker process of its own (conformance/backends/impl_side.py)
@pytest.mark.parametrize("name", EXAMPLES)
def test_impl_torch_loop_gives_reference_gradients(name):
    _assert_reference_gradients(ImplBackend("tests.impls.torch_rnn:rnn", "torch"), "eager", EXAMPLES[name])


@pytest.mark.e2e  # the --impl loop runs in a worker process of its own (conformance/backends/impl_side.py)
@pytest.mark.parametrize(("impl_target", "ops"), [("keras.src.backend.jax.rnn:rnn", "jax"), ("keras.src.backend.tensorflow.rnn:rnn", "tensorflow")])
def test_impl_jax_and_tensorflow_loops_give_reference_gradients(impl_target, ops):
    """Keras's own loops handed over as third-party ones: grad_jax and grad_tensorflow
    differentiate them eagerly."""
    _assert_reference_gradients(ImplBackend(impl_target, ops), "eager", EXAMPLES["two-states-backwards-time-major"])


def test_every_part_is_differentiated():
    """Sources L depends on get non-zero gradients in every part (not zeros by default)."""
    example = EXAMPLES["dense-state-constants-right-padded"]
    weights = loss_weights(expected(example), example.dtype)
    for adapter, mode in TARGETS:
        _, gradients = adapter().run_with_gradients(example, mode, weights)
        for part in DIFFERENTIATED:
            assert all(np.any(g != 0) for g in getattr(gradients, part)), (adapter.name, mode, part)
