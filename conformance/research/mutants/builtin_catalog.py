"""The built-in layer mutants (issue 41): faults of a built-in layer's own path.

Each is the layer reference over the built-in cell references, run in this process as a
built-in row of one mode, "call", every example on the own path, with one fault: what a
fused kernel, a cell or a stateful layer gets wrong where the generic loop is right. `rnn-conformance mutants`
hunts them with the built-in properties (conformance/properties/__init__.py,
BUILTIN_PROPERTIES), each of which names the rule its failure breaks.
"""

import numpy as np

from conformance.backends.base import Backend, Result
from conformance.contract.builtin_step import builtin_step
from conformance.contract.layer_reference import layer_outputs
from conformance.contract.stateful_reference import batches_of, stateful_outputs
from conformance.research.mutants.layer_catalog import LayerMutant
from conformance.research.mutants.loop import CorrectLoop


class InProcessBuiltin(Backend):
    """A built-in row computed by the layer reference in this process, with `cell_step`
    for the built-in cells' steps, `rnn` for the loop and `stateful` for L9's batches."""

    level = "builtin"
    packages = ("numpy",)
    modes = ("call",)

    def __init__(self, name, cell_step=builtin_step, rnn=None, stateful=stateful_outputs, ignores_mask_of=()):
        """`ignores_mask_of`: the kinds whose own kernel runs every step as if unmasked."""
        self.name, self.cell_step, self.rnn, self.stateful = name, cell_step, rnn, stateful
        self.ignores_mask_of = ignores_mask_of

    def fitted(self, example, mode):
        """Every example on the own path: the mutants are faults of it."""
        return example.changed(layer={"path": "own"})

    def run(self, example, mode):
        if example.mask is not None and example.spec.structure.kind in self.ignores_mask_of:
            example = example.changed(mask=None, mask_family="none")  # the kernel's view: no mask at all
        kwargs = {} if self.rnn is None else {"rnn": self.rnn}
        with np.errstate(all="ignore"):
            returned = layer_outputs(example, cell_step=self.cell_step, **kwargs)
        return Result(last_output=[], outputs=returned[0], new_states=returned[1:])

    def run_stateful(self, example, mode, cuts):
        with np.errstate(all="ignore"):
            returned = self.stateful(example, cuts)
        return [Result(last_output=[], outputs=r[0], new_states=r[1:]) for r in returned]


def _reset_after_swapped(structure, weights):
    """A GRU whose reset gate is applied on the other side of the recurrent matmul: the
    step of `reset_after = not reset_after`, over the weights the layer holds (a (2, 3u)
    bias read as the input bias alone, a (3u,) one as input and recurrent bias)."""
    if structure.kind != "GRU":
        return builtin_step(structure, weights)
    weights = list(weights)
    if len(weights) == 3:
        weights[2] = weights[2][0] if structure.reset_after else np.stack([weights[2], np.zeros_like(weights[2])])
    return builtin_step(structure.__class__(**{**structure.__dict__, "reset_after": not structure.reset_after}), weights)


def _resets_between_batches(example, cuts):
    """L9 broken: every batch starts from zeros, as if reset_states() ran between calls."""
    zeros = tuple(np.zeros_like(s) for s in example.initial_states)
    parts = batches_of(example, cuts)
    return [layer_outputs(part.changed(initial_states=zeros)) for part in parts + [parts[0]]]


class MaskOnTheWrongAxis(CorrectLoop):
    """The mask of a step, (B, 1) whatever the state's rank, broadcast from the right: for a
    ConvLSTM's (B, *spatial, filters) states it lines up with a spatial axis, not the batch
    (the Keras 3 JAX and NumPy loops' `state-mask-rank` findings)."""

    def per_sample(self, keep, like, call):
        return keep.reshape((keep.shape[0], 1))


BUILTIN_MUTANTS = {
    m.name: m
    for m in [
        LayerMutant("fused-lstm-ignores-the-mask", "cuDNN LSTM kernels that take no mask (tensorflow#33148; "
                      "torch's fused path, which Keras 3 takes only without one)", "R3",
                      "the LSTM's own kernel runs every step, masked or not, as if there were no mask",
                      InProcessBuiltin("mutant:fused-lstm-ignores-the-mask", ignores_mask_of=("LSTM",)), ("R4",)),
        LayerMutant("gru-reset-gate-on-the-wrong-side", "GRU reset_after swapped (cuDNN's convention against "
                      "the original paper's)", "R2", "the reset gate multiplies the state before the recurrent "
                      "matmul where reset_after says after, and the other way round",
                      InProcessBuiltin("mutant:gru-reset-gate-on-the-wrong-side", cell_step=_reset_after_swapped),
                      ("R1", "R3", "R4", "R6", "L1", "L8")),
        LayerMutant("stateful-resets-between-batches", "a stateful layer whose states are reset at each call", "L9",
                      "each batch starts from zeros instead of the states the batch before ended with",
                      InProcessBuiltin("mutant:stateful-resets-between-batches", stateful=_resets_between_batches)),
        LayerMutant("convlstm-mask-on-the-wrong-axis", "layer-keras-jax-state-mask-rank-masks-along-a-state-axis",
                      "R3", "a step's (B, 1) mask is broadcast against (B, *spatial, filters) states from the right",
                      InProcessBuiltin("mutant:convlstm-mask-on-the-wrong-axis", rnn=MaskOnTheWrongAxis()),
                      # (states of another shape: R13, as NumPy's finding shows; positions of processed
                      # steps carried: values of R2, a mask of R8; or a crash)
                      ("R4", "R13", "R2", "R8", "crash")),
    ]
}
