"""The gradient half of a run (CONTRACT.md section 5): the loss, and what a backend returns.

Every gradient rule is stated for one scalar loss: L = a fixed random weighting of every
leaf of `last_output`, `outputs` and `new_states`, summed (G1). The weighting is a pure
function of the reference result's shapes, so the suite, every backend and every
reproducer compute the same L without storing it, and a backend that returns wrong
shapes cannot even form it (a crash: a divergence).

A backend that differentiates returns, next to its forward `Result`, a `Gradients`: dL
with respect to every differentiated argument, laid out as the arguments it was passed.
`batch_major` turns that into the example's own layout (inputs (B, T, ...)), where the
reference's finite differences live.
"""

import numbers
import zlib
from dataclasses import dataclass, field

import numpy as np
import optree

# Exact binary fractions, as the cell weights (cells/strategies.py): float32 and float64
# runs weigh their leaves identically.
LOSS_WEIGHT_VALUES = (0.5, -0.5, 1.0, -1.0, 0.25, -0.75, 1.5, -1.25)
DIFFERENTIATED = ("inputs", "initial_states", "constants", "weights")
# The data arguments that are differentiated (the first three of DIFFERENTIATED); the mask
# never is (G2 is about inputs).
DIFFERENTIATED_DATA = DIFFERENTIATED[:3]


@dataclass(frozen=True)
class Gradients:
    """dL/d each differentiated argument: tuples of NumPy arrays, one per leaf, each of
    the shape of its argument (inputs per input leaf, in the layout it was passed)."""

    inputs: tuple
    initial_states: tuple
    constants: tuple
    weights: tuple
    # The example they were taken on (set by the properties' gradients_of): a divergence
    # between two gradient sets (G3, G4) names both runs, and a declared entry's condition
    # is asked of each, as for the forward relations (assertions.assert_same_results).
    taken_on: object = field(default=None, compare=False, repr=False)
    # And the target (backend and mode) that took them: G4 compares a compiled mode with
    # eager, so an entry declared for eager explains the difference too.
    taken_by: object = field(default=None, compare=False, repr=False)

    def leaves(self):
        """(name, array) for every array, named as messages show them ("inputs[0]")."""
        for part in DIFFERENTIATED:
            for i, array in enumerate(getattr(self, part)):
                yield f"{part}[{i}]", np.asarray(array)


def loss_weights(result, dtype, time_major=False):
    """The fixed weighting of L for a result shaped like `result` (a base.Result): a
    Result whose every leaf is an array of that leaf's shape, in `dtype`. Deterministic:
    each leaf's values depend only on its position and its batch-major shape. With
    `time_major`, `outputs` is (T, B, ...) and gets the transpose of the batch-major
    weights, so a time-major run is weighed as the same L (G4 compares the two)."""
    parts = {}
    for position, part in enumerate(("last_output", "outputs", "new_states")):
        nest = getattr(result, part)
        leaves, structure = optree.tree_flatten(nest)
        swap = time_major and part == "outputs"
        weights = [_weights_for(position, i, _swapped(np.shape(leaf)) if swap else np.shape(leaf), dtype) for i, leaf in enumerate(leaves)]
        if swap:
            weights = [np.swapaxes(w, 0, 1) for w in weights]
        parts[part] = optree.tree_unflatten(structure, weights)
    return type(result)(**parts)


def example_loss_weights(example, result, dtype=None):
    """`loss_weights` for the reference `result` of `example`, in its layout and dtype."""
    return loss_weights(result, dtype or example.dtype, example.options.time_major)


def _swapped(shape):
    return (shape[1], shape[0]) + tuple(shape[2:])


def _weights_for(part, leaf, shape, dtype):
    seed = zlib.crc32(repr((part, leaf, tuple(int(n) for n in shape))).encode())
    rng = np.random.default_rng(seed)
    return rng.choice(np.asarray(LOSS_WEIGHT_VALUES), size=shape).astype(dtype)


def loss_value(result, weights):
    """L in NumPy (float64): sum over every leaf of weights * leaf."""
    total = 0.0
    for part in ("last_output", "outputs", "new_states"):
        for leaf, weight in zip(optree.tree_leaves(getattr(result, part)), optree.tree_leaves(getattr(weights, part))):
            total += float(np.sum(np.asarray(weight, np.float64) * np.asarray(leaf, np.float64)))
    return total


def loss_magnitude(result, weights):
    """sum |weight * leaf| over L's terms (float64): the scale of the rounding error in a
    computed L, which a central difference divides by its step (CONTRACT.md section 5)."""
    total = 0.0
    for part in ("last_output", "outputs", "new_states"):
        for leaf, weight in zip(optree.tree_leaves(getattr(result, part)), optree.tree_leaves(getattr(weights, part))):
            total += float(np.sum(np.abs(np.asarray(weight, np.float64) * np.asarray(leaf, np.float64))))
    return total


def loss_pairs(result_nests, weight_nests):
    """(leaf, weight) pairs of L in a framework: `result_nests` is (last_output, outputs,
    new_states) as the backend returned them, `weight_nests` the same three parts of
    `loss_weights`. Adapters sum `reduce_sum(weight * leaf)` over these in their own
    library; a different number of leaves, or a leaf of another shape, is a ValueError
    (reported as a crash), never a broadcast."""
    pairs = []
    for part, nest, weights in zip(("last_output", "outputs", "new_states"), result_nests, weight_nests):
        leaves, weight_leaves = optree.tree_leaves(nest), optree.tree_leaves(weights)
        if len(leaves) != len(weight_leaves):
            raise ValueError(f"{part} has {len(leaves)} leaves, the contract's result has {len(weight_leaves)}")
        for i, (leaf, weight) in enumerate(zip(leaves, weight_leaves)):
            if not _same_known_shape(leaf, weight):
                raise ValueError(f"{part} leaf {i} has shape {_shape(leaf)}, the contract's result has {_shape(weight)}")
        pairs += list(zip(leaves, weight_leaves))
    return pairs


def _shape(x):
    """Sizes as ints where known; None where a tracer or a symbolic (Theano) size is not."""
    return tuple(int(n) if isinstance(n, numbers.Integral) else None for n in getattr(x, "shape", np.shape(x)))


def _same_known_shape(leaf, weight):
    """Equal ranks and equal sizes wherever both are known (a traced function may leave
    batch and time unknown): a wrong shape must not broadcast into a wrong L."""
    a, b = _shape(leaf), _shape(weight)
    return len(a) == len(b) and all(m is None or n is None or m == n for m, n in zip(a, b))


def weight_parts(weights):
    """The three parts of a `loss_weights` Result, in the order `loss_pairs` takes them."""
    return (weights.last_output, weights.outputs, list(weights.new_states))


def batch_major(gradients, example):
    """`gradients` with the input gradients in the example's (B, T, ...) layout."""
    if not example.options.time_major:
        return gradients
    inputs = tuple(np.swapaxes(np.asarray(g), 0, 1) for g in gradients.inputs)
    return Gradients(inputs, gradients.initial_states, gradients.constants, gradients.weights, gradients.taken_on, gradients.taken_by)


def zeros_for_unconnected(gradient, like):
    """A framework's "no gradient" (None: the loss does not depend on it) as zeros."""
    return np.zeros(np.shape(like), dtype=np.asarray(like).dtype) if gradient is None else np.asarray(gradient)
