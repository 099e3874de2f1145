"""The layer reference's gradients (rule L7): central differences of the layer reference.

L7 is G1 for the `RNN` layer: dL/d the layer's inputs and dL/d every cell weight of every
copy of the layer (Bidirectional has two, set to the same values but trained apart) equal
the derivative of the layer reference (conformance/contract/layer_reference.py), measured in
float64 by `gradient_reference.central_differences`, never derived. The layer's inputs are
`x` (zero gradient by construction at masked steps: never perturbed, G2) and, when the
example passes `initial_state`, the initial states (one array each, however many copies
of the layer read it, so its gradient is the sum over copies).

L is `gradients.loss_weights` over the layer's flat result [output, *states] (L1);
`training_weights` is the same weighting with the output steps a Keras mask reaches zeroed,
the loss a Keras `train_on_batch` sees (see its docstring).
"""

from dataclasses import dataclass

import numpy as np

from conformance.contract.values import Result
from conformance.contract.gradient_reference import central_differences
from conformance.contract.gradients import loss_value, loss_weights
from conformance.contract.layer_reference import layer_outputs


@dataclass(frozen=True)
class LayerGradients:
    """dL/d each differentiated argument of a layer example, as NumPy arrays: `inputs`
    (x), `initial_states` (empty unless passed), `weights` (copy by copy, cell by cell,
    in each cell's weight order: the order `LayerRunner._set_weights` sets them)."""

    inputs: tuple
    initial_states: tuple
    weights: tuple

    def leaves(self):
        """(name, array) for every array, named as L7 messages show them."""
        for part in ("inputs", "initial_states", "weights"):
            for i, array in enumerate(getattr(self, part)):
                yield f"{part}[{i}]", np.asarray(array)


def as_result(returned):
    """The layer's flat [output, *states] as the Result that gradients.loss_* read."""
    return Result(last_output=[], outputs=returned[0], new_states=list(returned[1:]))


def layer_loss_weights(example):
    """L's fixed weighting for this example: one array per leaf of [output, *states]."""
    weights = loss_weights(as_result(layer_outputs(example)), example.dtype)
    return [weights.outputs] + list(weights.new_states)


def training_weights(example, weights):
    """The weighting of the loss `train_on_batch` minimises: Keras multiplies the loss at
    each output step by the output's mask when it carries one (return_sequences with a
    mask), so those steps are zeroed here, in the mask's and the reversed mask's order
    (the two a go_backwards sequence could be read in): L' = L wherever Keras reads."""
    if example.mask is None or not example.return_sequences:
        return list(weights)
    mask = np.asarray(example.mask, bool)
    kept = (mask & mask[:, ::-1])[..., None]
    return [np.where(kept, weights[0], 0).astype(weights[0].dtype)] + list(weights[1:])


def copies(example):
    return 2 if example.layer.bidirectional else 1


def differentiated(example):
    """The float64 arrays L7 differentiates, as LayerGradients' parts."""
    as64 = lambda arrays: tuple(np.array(a, dtype=np.float64) for a in arrays)  # noqa: E731
    states = as64(example.initial_states) if example.layer.initial_state else ()
    weights = as64(w for _ in range(copies(example)) for spec in example.specs for w in spec.weight_arrays())
    return LayerGradients(as64(example.inputs), states, weights)


def reference_layer_loss(example, weights, params):
    """L (with `weights`, one array per leaf of [output, *states]) of the layer reference
    run on `params`, a LayerGradients of float64 values."""
    changes = dict(inputs=tuple(params.inputs))
    if example.layer.initial_state:
        changes["initial_states"] = tuple(params.initial_states)
    per_copy, it = [], iter(params.weights)
    for _ in range(copies(example)):
        per_copy.append([[next(it) for _ in spec.weight_arrays()] for spec in example.specs])
    if len(per_copy) == 1:
        per_copy.append(per_copy[0])
    returned = layer_outputs(example.changed(**changes), cell_weights=per_copy)
    return loss_value(as_result(returned), as_result(weights))


def reference_layer_gradients(example, weights):
    """dL/d every differentiated argument (`differentiated`), by central differences."""
    params = differentiated(example)
    parts = [len(params.inputs), len(params.initial_states), len(params.weights)]
    flat = list(params.inputs) + list(params.initial_states) + list(params.weights)
    skip = [None] * len(flat)
    if example.mask is not None:  # G2: masked inputs are never perturbed, so 0
        masked = ~np.asarray(example.mask, bool)
        skip[0] = np.broadcast_to(masked.reshape(masked.shape + (1,) * (flat[0].ndim - 2)), flat[0].shape)

    def loss(arrays):
        return reference_layer_loss(example, weights, _split(arrays, parts))

    return _split(central_differences(loss, flat, skip), parts)


def _split(arrays, parts):
    it = iter(arrays)
    return LayerGradients(*(tuple(next(it) for _ in range(n)) for n in parts))
