"""L9, the stateful layer (issue 41), on top of the layer reference.

A layer built with `stateful=True` and called on consecutive batches of one sequence,
the time axis cut at `cuts`, starts each batch from the final states of the batch before
(per sample, masked steps included: a fully masked sample carries its state unchanged);
`reset_states()` returns it to the states of a new layer (zeros), so the first batch
again gives what it gave. So batch k is the plain layer (L1, L2) started from the states
batch k - 1 ended with, which is how it is computed here.
"""

import numpy as np

from conformance.contract.layer_reference import layer_outputs


def batches_of(example, cuts):
    """The example's time axis cut at `cuts` (sorted, inside 1..T-1): one example per
    batch, its own inputs and mask, returning its states (they are what L9 is about)."""
    bounds = [0, *cuts, example.steps]
    return [
        example.changed(
            inputs=(np.ascontiguousarray(example.inputs[0][:, a:b]),),
            mask=None if example.mask is None else np.ascontiguousarray(example.mask[:, a:b]),
            layer={"return_state": True, "initial_state": True},
        )
        for a, b in zip(bounds, bounds[1:])
    ]


def stateful_outputs(example, cuts):
    """L9: [output, *states] of each batch in turn, then of the first batch again after
    `reset_states()`; the first batch starts from zeros (a new stateful layer's states)."""
    states = [np.zeros_like(s) for s in example.initial_states]
    returned = []
    for batch in batches_of(example, cuts):
        result = layer_outputs(batch.changed(initial_states=tuple(states)))
        returned.append(result)
        states = result[1:]
    first = batches_of(example, cuts)[0]
    returned.append(layer_outputs(first.changed(initial_states=tuple(np.zeros_like(s) for s in example.initial_states))))
    return returned
