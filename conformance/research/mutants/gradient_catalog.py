"""Gradient mutants: loops whose forward results are exact and whose gradients are wrong.

Each is a small change to `CorrectTorchLoop` (conformance/research/mutants/gradient_loop.py) in
its backward pass only, so every forward property passes on it (tests check that) and only
the gradient properties (CONTRACT.md section 5) can kill it. Each names the upstream
issue whose bug it reproduces where one exists, and the gradient rule it breaks.
"""

import torch

from conformance.research.mutants.catalog import Mutant
from conformance.research.mutants.gradient_backend import TorchLoopBackend
from conformance.research.mutants.gradient_loop import CorrectTorchLoop


class GradientMutant(Mutant):
    """A mutant of `CorrectTorchLoop`: run on a differentiating torch backend, hunted by
    the gradient properties (conformance.research.mutation)."""

    @property
    def backend(self):
        """A fresh differentiating backend around a fresh loop object."""
        return TorchLoopBackend(f"mutant:{self.name}", self.rnn)


class StatesDetachedAcrossMaskedSteps(CorrectTorchLoop):
    def masked_states(self, keep, new_states, states, call):
        return [self.select(keep, new, old.detach(), call) for new, old in zip(new_states, states)]  # carried, cut


class InitialStatesDetached(CorrectTorchLoop):
    def initial_states(self, initial_states):
        return [s.detach() for s in initial_states]


class ConstantsDetached(CorrectTorchLoop):
    def constants(self, constants):
        return tuple(c.detach() for c in constants or ())


class WhereTrap(CorrectTorchLoop):
    def evaluate(self, step_function, x_leaves, input_structure, states, constants, keep, call):
        return self.step(step_function, x_leaves, input_structure, states, constants)  # every row, masked ones raw


class _Select(torch.autograd.Function):
    """where(keep, new, old) exactly; subclasses get the backward wrong."""

    @staticmethod
    def forward(ctx, keep, new, old):
        ctx.save_for_backward(keep)
        return torch.where(keep, new, old)


class _SelectMaskingOldWithKeep(_Select):
    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        zero = torch.zeros_like(grad)
        return None, torch.where(keep, grad, zero), torch.where(keep, grad, zero)  # old's: where(~keep, ...)


class _SelectLeakingIntoNew(_Select):
    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        return None, grad, torch.where(keep, torch.zeros_like(grad), grad)  # new's: where(keep, grad, 0)


def _broadcast(keep, like):
    return keep.reshape((keep.shape[0],) + (1,) * (like.dim() - 1)).expand(like.shape)


class WrongCustomGradient(CorrectTorchLoop):
    def select(self, keep, new, old, call):
        return _SelectMaskingOldWithKeep.apply(_broadcast(keep, old), new, old)


class GradientLeaksIntoMaskedInputs(CorrectTorchLoop):
    def evaluate(self, step_function, x_leaves, input_structure, states, constants, keep, call):
        return self.step(step_function, x_leaves, input_structure, states, constants)  # every row, as a fused kernel

    def select(self, keep, new, old, call):
        return _SelectLeakingIntoNew.apply(_broadcast(keep, old), new, old)


GRADIENT_MUTANTS = {
    m.name: m
    for m in (
        GradientMutant("states-detached-across-masked-steps", "Element-Research/rnn PR #158 (MaskZero zeroes the gradient "
               "at masked steps)", "G1", "the state carried through a masked step is detached: no gradient flows "
               "back across it", StatesDetachedAcrossMaskedSteps),
        GradientMutant("initial-states-detached", "tensorflow/swift-apis PR #660, tensorflow/tensorflow#54417", "G1",
               "the initial states are detached: dL/d initial_states is zero", InitialStatesDetached),
        GradientMutant("constants-detached", "pattern, no upstream report found (G1)", "G1",
               "the constants are detached: dL/d constants is zero", ConstantsDetached),
        GradientMutant("where-trap", "tensorflow/tensorflow#6209, pytorch/pytorch#52248, rwth-i6/returnn#576, "
               "tinygrad/tinygrad#12409", "G3", "the step runs on the raw masked inputs and torch.where selects, "
               "so NaN or inf there poison gradients (0 * NaN; the masked inputs' too: G2)", WhereTrap),
        GradientMutant("wrong-custom-gradient", "tensorflow/swift-apis#518 (a hand-written RNN derivative)", "G1",
               "a custom autograd select whose backward masks the old value's gradient with keep, not ~keep",
               WrongCustomGradient),
        GradientMutant("gradient-leaks-into-masked-inputs", "pytorch/pytorch#52248 (gradient into the branch not selected)",
               "G2", "the step runs on every row and a custom select sends the whole gradient to the new value, "
               "masked rows included (into masked inputs, and weights: G1 too)", GradientLeaksIntoMaskedInputs),
    )
}
