"""The reference's gradients (conformance/contract/gradient_reference.py): the fast replicated-batch
differences equal the literal one-coordinate-at-a-time ones, agree with autodiff of the
same function (a torch port, float64, below), are exactly zero at masked inputs (G2), and cost a fixed
handful of reference calls per example.

The measurements of CONTRACT.md section 5 come from this file:

    .venv/bin/python tests/contract/test_gradient_reference.py 300

draws 300 float64 gradient examples and prints the time per example and the error of the
finite differences against torch autograd of a port of the reference loop (where both are
finite), and the smallest error of three wrong-gradient variants of that port.
"""

import sys
import time

import numpy as np
import optree
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cells.build import make_step
from cells.ops import get_ops
from cells.strategies import cell_specs, cell_structures, examples
from conformance.contract import gradient_reference
from conformance.contract import reference
from conformance.judge.gradient_assertions import REFERENCE_TOLERANCE
from conformance.contract.gradient_reference import (
    central_differences,
    example_params,
    reference_derivatives,
    reference_gradients,
    reference_loss,
)
from conformance.contract.gradients import Gradients, loss_weights
from conformance.judge.runs import expected

try:
    from cells.gradient_strategies import gradient_examples
except ImportError:  # before the gradient cells exist: the cells of the forward properties
    gradient_examples = None


def float64_examples():
    if gradient_examples is not None:
        return gradient_examples("float64")
    return examples(specs=cell_specs(cell_structures(dtype=st.just("float64"))))


QUICK = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


def literal_gradients(example, weights):
    """The first, slow definition: one coordinate at a time, one reference run each."""
    params = example_params(example)
    flat = [a for part in params for a in part]
    skip = [None] * len(flat)
    if example.mask is not None:
        keep = np.asarray(example.mask, bool)
        skip[: len(params[0])] = [np.broadcast_to(~keep.reshape(keep.shape + (1,) * (a.ndim - 2)), a.shape) for a in params[0]]

    def loss(arrays):
        it = iter(arrays)
        return reference_loss(example, weights, tuple([next(it) for _ in part] for part in params))

    grads = iter(central_differences(loss, flat, skip))
    return Gradients(*(tuple(next(grads) for _ in part) for part in params))


def weights_of(example):
    return loss_weights(expected(example), "float64")


@QUICK
@given(example=float64_examples())
def test_the_replicated_batch_gives_the_literal_differences(example):
    weights = weights_of(example)
    fast, slow = reference_gradients(example, weights), literal_gradients(example, weights)
    for (name, a), (_, b) in zip(fast.leaves(), slow.leaves()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=name)


@QUICK
@given(example=float64_examples())
def test_directional_derivatives_are_the_gradient_along_unit_directions(example):
    d = reference_derivatives(example, weights_of(example))
    assert len(d.directions) == gradient_reference.DIRECTIONS
    for direction, along in zip(d.directions, d.along):
        norm = np.sqrt(sum(float(np.sum(v * v)) for _, v in direction.leaves()))
        assert norm == pytest.approx(1.0)
        dot = sum(float(np.sum(g * v)) for (_, g), (_, v) in zip(d.gradients.leaves(), direction.leaves()))
        assert dot == pytest.approx(along, rel=1e-6, abs=1e-7)


@QUICK
@given(example=float64_examples())
def test_the_reference_agrees_with_autodiff(example):
    """G1's tolerance has room: the differences agree with autodiff 20 times inside it
    (the worst measured was 500 times inside, CONTRACT.md section 5)."""
    pytest.importorskip("torch", reason="the autodiff port needs torch")
    weights = weights_of(example)
    want = autodiff_gradients(example, weights)
    got = reference_gradients(example, weights)
    for (name, a), (_, b) in zip(got.leaves(), want.leaves()):
        finite = np.isfinite(a) & np.isfinite(b)
        assert np.all(np.abs(a - b)[finite] <= 0.05 * (REFERENCE_TOLERANCE["atol"] + REFERENCE_TOLERANCE["rtol"] * np.abs(b[finite]))), name


def test_masked_inputs_are_never_perturbed_and_get_zero(monkeypatch):
    """G2 by construction: NaN at every masked input changes no difference and gets 0."""
    example = next(e for e in _drawn(float64_examples(), 40) if e.mask is not None and not e.mask.all() and e.mask.any())
    weights = weights_of(example)
    clean = reference_gradients(example, weights)
    masked = ~np.asarray(example.mask, bool)
    filled = example.changed(inputs=tuple(np.where(masked.reshape(masked.shape + (1,) * (x.ndim - 2)), np.nan, x) for x in example.inputs))
    dirty = reference_gradients(filled, weights)
    for (name, a), (_, b) in zip(clean.leaves(), dirty.leaves()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    for g in dirty.inputs:
        assert np.all(g[masked] == 0)


def test_one_example_costs_a_fixed_handful_of_reference_calls(monkeypatch):
    """Speed by design: all perturbations of an example run as one replicated batch (plus
    one for the directions), not one reference run per coordinate."""
    calls = []
    real = reference.rnn
    monkeypatch.setattr(reference, "rnn", lambda *a, **k: calls.append(1) or real(*a, **k))
    for example in _drawn(float64_examples(), 10):
        calls.clear()
        reference_derivatives(example, weights_of(example))
        assert len(calls) <= 3, f"{len(calls)} reference calls for {example!r}"


def _drawn(strategy, count):
    drawn = []

    @settings(max_examples=count, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(example=strategy)
    def collect(example):
        drawn.append(example)

    collect()
    return drawn


# --- a torch port of the reference loop (conformance/contract/reference.py, line for line) -------
# (torch's eager autograd, float64; a JAX port under eager jax.grad spent 12-37 s per
# example here compiling each primitive, too slow for a few hundred examples.)


def autodiff_gradients(example, weights, variant=None):
    """dL by torch.autograd of the section-1 loop written in torch (float64), batch-major.
    `variant` breaks it on purpose ("detached-masked-states", "detached-initial-states",
    "detached-constants"), for the smallest real divergence."""
    import torch

    structure, o = example.structure, example.options
    mask = np.ones((example.batch, example.steps), bool) if example.mask is None else np.asarray(example.mask, bool)
    params = [[torch.tensor(a, requires_grad=True) for a in part] for part in example_params(example)]
    inputs, states, constants, cell_weights = params
    step = make_step(structure, get_ops("torch"), cell_weights)
    states = [s.detach() for s in states] if variant == "detached-initial-states" else list(states)
    constants = [c.detach() for c in constants] if variant == "detached-constants" else list(constants)
    previous, emitted = None, []
    for t in range(example.steps - 1, -1, -1) if o.go_backwards else range(example.steps):
        x_t = tuple(x[:, t] for x in inputs) if structure.nested_inputs else inputs[0][:, t]
        output_t, new_states = step(x_t, tuple(states) + tuple(constants))
        keep = torch.tensor(mask[:, t])
        per = lambda like: keep.reshape((-1,) + (1,) * (like.ndim - 1))  # noqa: E731, B023
        if previous is None:
            previous = optree.tree_map(torch.zeros_like, output_t)
        carried = [s.detach() for s in states] if variant == "detached-masked-states" else states
        states = [torch.where(per(old), new, old) for new, old in zip(new_states, carried)]
        fallback = optree.tree_map(torch.zeros_like, output_t) if o.zero_output_for_mask else previous
        output_t = optree.tree_map(lambda out, alt: torch.where(per(out), out, alt), output_t, fallback)  # noqa: B023
        previous = output_t
        emitted.append(output_t)
    outputs = optree.tree_map(lambda *s: torch.stack(s, dim=1), *emitted)
    last = emitted[-1]
    if not o.return_all_outputs:
        outputs = optree.tree_map(lambda x: x[:, None], last)
    if o.time_major:
        outputs = optree.tree_map(lambda x: torch.swapaxes(x, 0, 1), outputs)
    total = torch.zeros((), dtype=torch.float64)
    for part, nest in (("last_output", last), ("outputs", outputs), ("new_states", states)):
        for leaf, w in zip(optree.tree_leaves(nest), optree.tree_leaves(getattr(weights, part))):
            total = total + torch.sum(torch.tensor(np.asarray(w, np.float64)) * leaf)
    flat = [a for part in params for a in part]
    grads = torch.autograd.grad(total, flat, allow_unused=True) if total.requires_grad else [None] * len(flat)
    it = iter(grads)
    as_numpy = lambda g, a: np.zeros(a.shape) if g is None else g.numpy()  # noqa: E731
    return Gradients(*(tuple(as_numpy(next(it), a) for a in part) for part in params))


def measure(count):
    """The numbers of CONTRACT.md section 5 (see the module docstring)."""
    times, abs_errors, rel_errors, scaled, direction_errors, wrong = [], [], [], [], [], {}
    variants = ("detached-masked-states", "detached-initial-states", "detached-constants")
    for example in _drawn(float64_examples(), count):
        weights = weights_of(example)
        start = time.perf_counter()
        d = reference_derivatives(example, weights)
        times.append(time.perf_counter() - start)
        autodiff = autodiff_gradients(example, weights)
        worst = 0.0
        for (_, a), (_, b) in zip(d.gradients.leaves(), autodiff.leaves()):
            finite = np.isfinite(a) & np.isfinite(b)
            error = np.abs(a - b)[finite]
            if error.size:
                abs_errors.append(error.max())
                rel_errors.append((error / np.maximum(np.abs(b[finite]), 1e-3)).max())
                worst = max(worst, (error / (REFERENCE_TOLERANCE["atol"] + REFERENCE_TOLERANCE["rtol"] * np.abs(b[finite]))).max())
        scaled.append(worst)
        for direction, along in zip(d.directions, d.along):
            dot = sum(float(np.sum(g * v)) for (_, g), (_, v) in zip(autodiff.leaves(), direction.leaves()))
            if np.isfinite(dot) and np.isfinite(along):
                direction_errors.append(abs(dot - along))
        for variant in variants:
            broken = autodiff_gradients(example, weights, variant)
            diff = max(float(np.max(np.abs(a - b), initial=0.0)) for (_, a), (_, b) in zip(broken.leaves(), autodiff.leaves()))
            if diff > 1e-12:  # the variant changed this example's gradients at all
                wrong[variant] = min(wrong.get(variant, np.inf), diff)
    ms = 1000 * np.array(times)
    print(f"{len(times)} float64 examples; reference_derivatives: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, max {ms.max():.1f} ms")
    print(f"finite differences vs torch autograd: max abs error {max(abs_errors):.2e}, max relative error (|r| >= 1e-3) {max(rel_errors):.2e}")
    print(f"  along random directions: max abs error {max(direction_errors):.2e}")
    print(f"  worst error / G1 tolerance (atol {REFERENCE_TOLERANCE['atol']}, rtol {REFERENCE_TOLERANCE['rtol']}): {max(scaled):.2e}")
    for variant, diff in wrong.items():
        print(f"smallest real divergence, {variant}: max abs difference {diff:.2e}")


if __name__ == "__main__":
    measure(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
