"""The reference's gradients: central finite differences of the NumPy reference, in float64.

No autodiff (CONTRACT.md section 5): the reference stays the literal NumPy loop of
section 1, and its derivative is measured, not derived:

    dL/dp . e  ~  (L(p + eps e) - L(p - eps e)) / (2 eps),   eps = 1e-6,

for every coordinate e (the gradient, G1) and along a few fixed random directions of unit
length over every differentiated argument at once. dL/d inputs is zero by construction
where the mask is false (G2): those positions are never perturbed.

Speed comes from R13 (every sample is computed without regard to the others), not from
cleverness in the loop: all the perturbed runs of one example are rows of ONE call of
the reference on a replicated batch. Replica k holds the whole batch with its own
perturbation; its rows are k*B .. k*B + B - 1. A data coordinate (an entry of one
sample's inputs, initial states or constants) is perturbed in every sample of its
replica at once, and each sample's own share of L gives that sample's derivative. A cell
weight is shared by the batch, so it gets replicas of its own; the step sees replica k's
weights through `ReplicatedOps`, whose matmul multiplies each block of rows with its own
weight matrix.
"""

import zlib
from dataclasses import dataclass

import numpy as np
import optree

from cells.build import make_step
from cells.ops import NumpyOps, get_ops
from conformance.contract import reference
from conformance.contract.values import Result
from conformance.contract.gradients import Gradients, loss_magnitude, loss_value

EPSILON = 1e-6
DIRECTIONS = 4  # random directions per example, checked on every example
# Above this many coordinates an example gets directional derivatives only (every example
# the strategies draw has fewer: at most a few hundred).
FULL_GRADIENT_LIMIT = 4096
REPLICAS_PER_CALL = 1024  # replicas in one reference call (memory stays small)


@dataclass(frozen=True)
class ReferenceDerivatives:
    """What the reference knows of dL: the full gradient (None above
    FULL_GRADIENT_LIMIT coordinates), and dL along each of `directions`."""

    gradients: object  # Gradients, batch-major, or None
    directions: tuple  # of Gradients-shaped directions, unit length over all their arrays
    along: tuple  # of floats: the central difference of L along each direction
    magnitude: float = 0.0  # sum |weight * leaf| of L at the example (gradients.loss_magnitude)


def reference_loss(example, weights, params):
    """L of the reference run on `params` = (inputs, initial_states, constants, cell weights),
    all batch-major float64, with the example's mask and options."""
    return loss_value(_reference_result(example, params), weights)


def _reference_result(example, params):
    """The reference run on `params`, laid out as the example's own results."""
    inputs, states, constants, cell_weights = params
    step = make_step(example.structure, get_ops("numpy"), cell_weights)
    mask = None if example.mask is None else np.asarray(example.mask, bool)
    last, outputs, new_states = _run(example, step, inputs, states, constants, mask)
    if example.options.time_major:  # the loss weights are shaped as the example's own results
        outputs = _swap(outputs)
    return Result(last, outputs, list(new_states))


def example_params(example):
    """The differentiated arguments of an example, as float64 copies."""
    as64 = lambda arrays: [np.array(a, dtype=np.float64) for a in arrays]  # noqa: E731
    return (as64(example.inputs), as64(example.initial_states), as64(example.constants), as64(example.spec.weight_arrays()))


def reference_gradients(example, weights):
    """dL/d every differentiated argument of `example`, batch-major, by central differences
    (G1), zero at masked inputs (G2). Every coordinate, however large the example."""
    return _gradients(example, weights, example_params(example))


def reference_derivatives(example, weights, directions=DIRECTIONS):
    """The gradient where the example is small enough, and dL along `directions` random
    unit directions (deterministic: seeded by the example's shapes)."""
    params = example_params(example)
    size = sum(a.size for part in params for a in part)
    gradients = _gradients(example, weights, params) if size <= FULL_GRADIENT_LIMIT else None
    chosen = [_direction(params, _kept_inputs(example, params), seed) for seed in range(directions)]
    replicas = [(direction, sign) for direction in chosen for sign in (1, -1)]
    losses = _losses(example, weights, params, replicas, lambda stacked, k, r: _add_direction(stacked, k, *r)).sum(axis=1)
    along = tuple(float((losses[2 * d] - losses[2 * d + 1]) / (2 * EPSILON)) for d in range(directions))
    as_gradients = tuple(Gradients(*(tuple(part) for part in direction)) for direction in chosen)
    return ReferenceDerivatives(gradients, as_gradients, along, reference_magnitude(example, weights, params))


def reference_magnitude(example, weights, params=None):
    """The scale of L's rounding at the example: sum |weight * leaf| of the reference run."""
    return loss_magnitude(_reference_result(example, params or example_params(example)), weights)


def _gradients(example, weights, params):
    """Every coordinate: data coordinates as (part, array, per-sample index) replicas
    read per sample, weight coordinates as (3, array, index) replicas read summed."""
    keep = _kept_inputs(example, params)
    data = [(p, i, j) for p in range(3) for i, a in enumerate(params[p]) for j in np.ndindex(a.shape[1:])]
    shared = [(3, i, j) for i, a in enumerate(params[3]) for j in np.ndindex(a.shape)]
    replicas = [(c, sign) for c in data + shared for sign in (1, -1)]
    losses = _losses(example, weights, params, replicas, lambda stacked, k, r: _add_coordinate(stacked, k, keep, *r))
    grads = [[np.zeros_like(a) for a in part] for part in params]
    for n, (part, i, j) in enumerate(data + shared):
        difference = (losses[2 * n] - losses[2 * n + 1]) / (2 * EPSILON)  # (B,): one per sample
        if part < 3:
            grads[part][i][(slice(None),) + j] = difference
        else:
            grads[part][i][j] = difference.sum()
    return Gradients(*(tuple(part) for part in grads))


def _kept_inputs(example, params):
    """Per input leaf, a boolean array of its shape: true where the input may be
    perturbed (its step is unmasked). G2: masked inputs never are."""
    if example.mask is None:
        return [np.ones(a.shape, bool) for a in params[0]]
    keep = np.asarray(example.mask, bool)
    return [np.broadcast_to(keep.reshape(keep.shape + (1,) * (a.ndim - 2)), a.shape) for a in params[0]]


def _add_coordinate(stacked, k, keep, coordinate, sign):
    part, i, j = coordinate
    if part == 3:  # a shared weight: replica k's own copy
        stacked[3][i][k][j] += sign * EPSILON
    else:  # a data coordinate of every sample of replica k (G2: unmasked ones only)
        where = (slice(None),) + j
        allowed = keep[i][where] if part == 0 else True
        stacked[part][i][k][where] += np.where(allowed, sign * EPSILON, 0.0)


def _add_direction(stacked, k, direction, sign):
    for part, v_part in zip(stacked, direction):
        for array, v in zip(part, v_part):
            array[k] += sign * EPSILON * v


def _direction(params, keep, seed):
    """A unit direction over every differentiated array, zero at masked inputs (G2)."""
    shapes = repr([[a.shape for a in part] for part in params])
    rng = np.random.default_rng([seed, zlib.crc32(shapes.encode())])
    direction = [[rng.standard_normal(a.shape) for a in part] for part in params]
    direction[0] = [v * k for v, k in zip(direction[0], keep)]
    norm = np.sqrt(sum(float(np.sum(v * v)) for part in direction for v in part))
    return [[v / norm for v in part] for part in direction]


def _losses(example, weights, params, replicas, perturb):
    """(len(replicas), B): each sample's share of L in each perturbed copy of `params`,
    `perturb(stacked, k, replica)` applying replica k's perturbation in place."""
    rows = []
    for start in range(0, len(replicas), REPLICAS_PER_CALL):
        chunk = replicas[start : start + REPLICAS_PER_CALL]
        stacked = tuple([np.repeat(a[None], len(chunk), axis=0) for a in part] for part in params)
        for k, replica in enumerate(chunk):
            perturb(stacked, k, replica)
        rows.append(_replicated_run(example, weights, stacked))
    return np.concatenate(rows)


def _replicated_run(example, weights, stacked):
    """One reference call on K replicas of the batch: each sample's share of L, (K, B)."""
    inputs, states, constants, cell_weights = stacked
    count, batch = len(inputs[0]), example.batch
    rows = lambda arrays: [a.reshape((count * batch,) + a.shape[2:]) for a in arrays]  # noqa: E731
    # A bias (rank 1) is added to each row: one copy per row. A matrix is read by matmul.
    per_replica = [np.repeat(w, batch, axis=0) if w.ndim == 2 else w for w in cell_weights]
    step = make_step(example.structure, ReplicatedOps(), per_replica)
    mask = None if example.mask is None else np.tile(np.asarray(example.mask, bool), (count, 1))
    result = Result(*_run(example, step, rows(inputs), rows(states), rows(constants), mask))
    if example.options.time_major:  # L's weights for outputs are (T, B, ...): make them batch-major
        weights = Result(weights.last_output, _swap(weights.outputs), weights.new_states)
    share = np.zeros(count * batch)
    for part in ("last_output", "outputs", "new_states"):
        for leaf, weight in zip(optree.tree_leaves(getattr(result, part)), optree.tree_leaves(getattr(weights, part))):
            tiled = np.tile(np.asarray(weight, np.float64), (count,) + (1,) * (np.ndim(weight) - 1))
            share += (tiled * leaf).reshape(count * batch, -1).sum(axis=1)
    return share.reshape(count, batch)


class ReplicatedOps(NumpyOps):
    """NumPy ops for K replicas of the batch with K sets of weights: a weight matrix
    stacked (K, n, m) multiplies each block of B rows with its own replica's matrix."""

    def matmul(self, x, w):
        if np.ndim(w) == 3:
            return np.matmul(x.reshape(w.shape[0], -1, x.shape[-1]), w).reshape(-1, w.shape[-1])
        return np.matmul(x, w)


def _run(example, step, inputs, states, constants, mask):
    """The reference loop, batch-major, with the example's options."""
    o = example.options
    with np.errstate(all="ignore"):  # NaN and inf at masked steps are legitimate (R9)
        return reference.rnn(
            step,
            tuple(inputs) if example.structure.nested_inputs else inputs[0],
            list(states),
            go_backwards=o.go_backwards,
            mask=mask,
            constants=list(constants) or None,
            zero_output_for_mask=o.zero_output_for_mask,
            return_all_outputs=o.return_all_outputs,
        )


def central_differences(loss, params, skip=None):
    """dloss/d every entry of `params` (a list of float64 arrays) by central differences:
    `loss(list of arrays) -> float`. `skip[i]`, when given, is a boolean array of
    params[i]'s shape: entries where it is true are not perturbed and get 0."""
    grads = []
    for i, array in enumerate(params):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            if skip is not None and skip[i] is not None and skip[i][index]:
                continue
            grad[index] = (_shifted(loss, params, i, index, EPSILON) - _shifted(loss, params, i, index, -EPSILON)) / (2 * EPSILON)
        grads.append(grad)
    return grads


def _shifted(loss, params, i, index, delta):
    copy = list(params)
    copy[i] = params[i].copy()
    copy[i][index] += delta
    return loss(copy)


def _swap(tree):
    return optree.tree_map(lambda x: np.swapaxes(x, 0, 1), tree)
