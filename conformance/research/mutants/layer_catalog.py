"""The layer mutants: faults of the `RNN` layer itself, above a correct loop.

Each is the layer reference (conformance/contract/layer_reference.py) run in this process as a
layer row of one mode, "call", with one fault in what a layer hands on to the next (L8):
the faults a real Keras can have where no loop is wrong, or, under a dtype policy, a
layer that computes in the wrong dtype (issue 40). `rnn-conformance mutants` hunts them
with the forward layer properties (conformance/properties.py, LAYER_PROPERTIES); an L8
mutant only L8 may kill, a policy mutant only the policy property.
"""

from dataclasses import dataclass

import numpy as np

from cells.layer_example import DTYPE_POLICIES
from conformance.backends.base import Backend, Result
from conformance.contract.layer_reference import handed_on_mask, layer_outputs, policy_layer_outputs, stack_outputs


class InProcessLayer(Backend):
    """A layer row computed by the layer reference in this process; a stack built as is
    (not `mask_each_layer`) hands on masks with `hand_on` (the correct one by default)."""

    level = "layer"
    packages = ("numpy",)
    modes = ("call",)
    dtype_policies = DTYPE_POLICIES[1:]

    def __init__(self, name, hand_on=handed_on_mask, policy_result_dtype=None):
        """`policy_result_dtype(policy)`: the dtype a layer under a policy computes and
        returns in (None: the policy's compute dtype, as the contract says)."""
        self.name, self.hand_on, self.policy_result_dtype = name, hand_on, policy_result_dtype

    def run(self, example, mode):
        with np.errstate(all="ignore"):
            policy = example.layer.dtype_policy
            if policy != "float32":
                dtype = self.policy_result_dtype(policy) if self.policy_result_dtype else None
                returned = policy_layer_outputs(example, dtype)
            elif example.next_layers and not example.mask_each_layer:
                returned = stack_outputs(example, hand_on=self.hand_on)
            else:
                returned = layer_outputs(example)  # every layer given the mask L8 says
        return Result(last_output=[], outputs=returned[0], new_states=returned[1:])


@dataclass(frozen=True)
class LayerMutant:
    """A mutant that brings its own in-process row (a layer's, or a built-in layer's:
    conformance/research/mutants/builtin_catalog.py); `shows_as`: the other rules (or
    "crash") its bug surfaces as, as a ledger entry's."""

    name: str
    models: str  # the upstream issue or finding it models
    rule: str
    change: str
    backend: object  # InProcessLayer, or builtin_catalog.InProcessBuiltin
    shows_as: tuple = ()


def _unreversed(mask, layer):
    """The input mask as it is, also after a go_backwards layer (whose outputs are reversed)."""
    return None if mask is None or not layer.options.return_all_outputs else mask


def _variable_dtype(policy):
    """The dtype a policy keeps its variables in: float32 for the mixed ones."""
    return "float32" if policy.startswith("mixed") else policy


LAYER_MUTANTS = {
    m.name: m
    for m in [
        LayerMutant("layer-hands-on-no-mask", "issue 36: a layer whose compute_mask returns None", "L8",
                    "no layer hands on a mask: the next one runs every step",
                    InProcessLayer("mutant:layer-hands-on-no-mask", hand_on=lambda mask, layer: None)),
        LayerMutant("go-backwards-hands-on-unreversed-mask", "RNN.compute_mask returns the input mask whatever go_backwards",
                    "L8", "a go_backwards layer hands on its input mask in time order, its outputs being reversed",
                    InProcessLayer("mutant:go-backwards-hands-on-unreversed-mask", hand_on=_unreversed)),
        LayerMutant("policy-variable-dtype-as-compute-dtype", "issue 40: a cell that computes in its variables' dtype "
                    "(reads `self.dtype`, not `self.compute_dtype`) under a mixed policy", "R13",
                    "under a mixed policy the layer computes in float32, its variable dtype, and returns float32",
                    InProcessLayer("mutant:policy-variable-dtype-as-compute-dtype", policy_result_dtype=_variable_dtype)),
    ]
}
