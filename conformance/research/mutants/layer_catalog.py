"""The layer mutants: faults of the `RNN` layer itself, above a correct loop.

Each is the layer reference (conformance/contract/layer_reference.py) run in this process as a
layer row of one mode, "call", with one fault in what a layer hands on to the next (L8):
the faults a real Keras can have where no loop is wrong. `rnn-conformance mutants` hunts
them with the forward layer properties (conformance/properties.py, LAYER_PROPERTIES), and
only L8 may kill them: every single-layer property passes on them.
"""

from dataclasses import dataclass

import numpy as np

from conformance.backends.base import Backend, Result
from conformance.contract.layer_reference import handed_on_mask, layer_outputs, stack_outputs


class InProcessLayer(Backend):
    """A layer row computed by the layer reference in this process; a stack built as is
    (not `mask_each_layer`) hands on masks with `hand_on` (the correct one by default)."""

    level = "layer"
    packages = ("numpy",)
    modes = ("call",)

    def __init__(self, name, hand_on=handed_on_mask):
        self.name, self.hand_on = name, hand_on

    def run(self, example, mode):
        with np.errstate(all="ignore"):
            if example.next_layers and not example.mask_each_layer:
                returned = stack_outputs(example, hand_on=self.hand_on)
            else:
                returned = layer_outputs(example)  # every layer given the mask L8 says
        return Result(last_output=[], outputs=returned[0], new_states=returned[1:])


@dataclass(frozen=True)
class LayerMutant:
    name: str
    models: str  # the upstream issue or finding it models
    rule: str
    change: str
    backend: InProcessLayer


def _unreversed(mask, layer):
    """The input mask as it is, also after a go_backwards layer (whose outputs are reversed)."""
    return None if mask is None or not layer.options.return_all_outputs else mask


LAYER_MUTANTS = {
    m.name: m
    for m in [
        LayerMutant("layer-hands-on-no-mask", "issue 36: a layer whose compute_mask returns None", "L8",
                    "no layer hands on a mask: the next one runs every step",
                    InProcessLayer("mutant:layer-hands-on-no-mask", hand_on=lambda mask, layer: None)),
        LayerMutant("go-backwards-hands-on-unreversed-mask", "RNN.compute_mask returns the input mask whatever go_backwards",
                    "L8", "a go_backwards layer hands on its input mask in time order, its outputs being reversed",
                    InProcessLayer("mutant:go-backwards-hands-on-unreversed-mask", hand_on=_unreversed)),
    ]
}
