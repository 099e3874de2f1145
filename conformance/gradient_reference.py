"""The reference's gradients: central finite differences of the NumPy reference, in float64.

No autodiff (CONTRACT.md section 5): the reference stays the literal NumPy loop of
section 1, and its derivative is measured, not derived. dL/d inputs is zero by
construction where the mask is false (G2): those positions are never perturbed.

FIRST VERSION (simple per-coordinate differences); to be made fast and measured.
"""

import numpy as np

from cells.build import make_step
from cells.ops import get_ops
from conformance import reference
from conformance.backends.base import Result
from conformance.gradients import Gradients, loss_value

EPSILON = 1e-6


def reference_loss(example, weights, params):
    """L of the reference run on `params` = (inputs, initial_states, constants, cell weights),
    all batch-major float64, with the example's mask and options."""
    inputs, states, constants, cell_weights = params
    o = example.options
    step = make_step(example.structure, get_ops("numpy"), cell_weights)
    mask = None if example.mask is None else np.asarray(example.mask, bool)
    with np.errstate(all="ignore"):  # NaN and inf at masked steps are legitimate (R9)
        last, outputs, new_states = reference.rnn(
            step,
            tuple(inputs) if example.structure.nested_inputs else inputs[0],
            list(states),
            go_backwards=o.go_backwards,
            mask=mask,
            constants=list(constants) or None,
            zero_output_for_mask=o.zero_output_for_mask,
            return_all_outputs=o.return_all_outputs,
        )
    if o.time_major:  # the loss weights are shaped as the example's own results
        outputs = _swap(outputs)
    return loss_value(Result(last, outputs, list(new_states)), weights)


def example_params(example):
    """The differentiated arguments of an example, as float64 copies."""
    as64 = lambda arrays: [np.array(a, dtype=np.float64) for a in arrays]  # noqa: E731
    return (as64(example.inputs), as64(example.initial_states), as64(example.constants), as64(example.spec.weight_arrays()))


def reference_gradients(example, weights):
    """dL/d every differentiated argument of `example`, batch-major, by central differences."""
    params = example_params(example)
    keep = None if example.mask is None else np.asarray(example.mask, bool)
    flat = [array for part in params for array in part]
    skip = [None] * len(flat)
    if keep is not None:  # G2: zero by construction at masked inputs, never perturbed
        skip[: len(params[0])] = [~keep.reshape(keep.shape + (1,) * (a.ndim - 2)) & np.ones(a.shape, bool) for a in params[0]]

    def loss(arrays):
        it = iter(arrays)
        return reference_loss(example, weights, tuple([next(it) for _ in part] for part in params))

    grads = iter(central_differences(loss, flat, skip))
    return Gradients(*(tuple(next(grads) for _ in part) for part in params))


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
    import optree

    return optree.tree_map(lambda x: np.swapaxes(x, 0, 1), tree)
