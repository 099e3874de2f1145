"""The mutant catalog: historical recurrent-loop bugs, each a small change to `CorrectLoop`.

Every mutant names the upstream issue or pull request whose bug it reproduces (or, for
the few with no upstream report, the finding or pattern it models), and the contract
rule the bug breaks. `rnn-conformance mutants` runs the suite's properties on each one
and must kill them all; the suite's own tests do the same under the `ci` profile.

A mutant that no input can tell apart from the correct loop (an equivalent mutant)
proves nothing about the suite. The candidates rejected as equivalent are listed in
`EQUIVALENT`, each with the reason.
"""

from dataclasses import dataclass

import numpy as np
import optree

from conformance.research.mutants.loop import CorrectLoop


@dataclass(frozen=True)
class Mutant:
    name: str
    models: str  # the upstream issue / pull request (or finding) it reproduces
    rule: str  # the contract rule the bug breaks
    change: str  # what differs from the correct loop, in one line
    loop: type  # the CorrectLoop subclass
    # How the contract names this bug's failure where that is not `rule` (CONTRACT.md
    # section 3): "crash", which is reported under the rule of the property that made the
    # call, or the rule the results of an R14 bug break (R14 has no failure id of its own).
    shows_as: tuple = ()

    @property
    def rnn(self):
        """The faulty `rnn` function (a fresh loop object)."""
        return self.loop()


# --- masks --------------------------------------------------------------------------


class MaskedOutputFromStates0(CorrectLoop):
    def masked_output(self, carried, output_leaves, states, call):
        if call.zero_output_for_mask:
            return super().masked_output(carried, output_leaves, states, call)
        return [states[0] for _ in output_leaves]  # states[0] stands in for the previous output


class MaskTiledForRank2Only(CorrectLoop):
    def per_sample(self, keep, like, call):
        if not call.masked:
            return super().per_sample(keep, like, call)
        return keep[:, None]  # (B, 1): right for (B, n) arrays only


class MaskNotReversedWithGoBackwards(CorrectLoop):
    def keep_at(self, keep_mask, t, position, call):
        return keep_mask[:, position]  # read in processing order, not at original time t


class MaskReversedOnBatchAxis(CorrectLoop):
    def read_mask(self, mask, call):
        mask = super().read_mask(mask, call)
        return mask[::-1] if call.go_backwards else mask  # meant to reverse time, reverses batch

    def keep_at(self, keep_mask, t, position, call):
        return keep_mask[:, position]


class MaskReducedOverBatch(CorrectLoop):
    def read_mask(self, mask, call):
        mask = super().read_mask(mask, call)
        return np.broadcast_to(mask.all(axis=0, keepdims=True), mask.shape)  # kept only where all samples keep


class NumericMaskIgnored(CorrectLoop):
    def read_mask(self, mask, call):
        if mask is not None and mask.dtype != bool:
            mask = None  # a 0/1 integer or float mask taken for "no mask"
        return super().read_mask(mask, call)


class StatesNotMasked(CorrectLoop):
    def masked_states(self, keep, new_states, states, output_leaves, call):
        return list(new_states)


class StateMaskFromOutputShape(CorrectLoop):
    def masked_states(self, keep, new_states, states, output_leaves, call):
        if not call.masked:
            return super().masked_states(keep, new_states, states, output_leaves, call)
        output = output_leaves[0]
        tiled = np.broadcast_to(self.per_sample(keep, output, call), output.shape)  # the output's mask, reused
        return [np.where(tiled, new, old) for new, old in zip(new_states, states)]


class NanLeaksThroughBlending(CorrectLoop):
    def select(self, keep, new, old, call):
        m = self.per_sample(keep, old, call).astype(np.asarray(new).dtype)
        return m * new + (1 - m) * old  # 0 * NaN is NaN


class UnrollFlipsZeroOutput(CorrectLoop):
    def masked_output(self, carried, output_leaves, states, call):
        if call.unroll:
            zeros = not call.zero_output_for_mask  # the unrolled branch reads the flag the other way
            return [np.zeros_like(o) for o in output_leaves] if zeros else carried
        return super().masked_output(carried, output_leaves, states, call)


class LastOutputIgnoresZeroOutputForMask(CorrectLoop):
    def __call__(self, *args, **kwargs):
        _, outputs, states = super().__call__(*args, **kwargs)
        last, _, _ = super().__call__(*args, **{**kwargs, "zero_output_for_mask": False})
        return last, outputs, states  # the flag reaches the sequence, not the last output


class MaskedPathTakesFirstOutput(CorrectLoop):
    def last_output(self, emitted, call):
        return emitted[0] if call.masked else emitted[-1]


# --- steps, order and layout --------------------------------------------------------


class ConstantsDroppedWhenUnrolledWithoutMask(CorrectLoop):
    def step_arguments(self, states, constants, call):
        if call.unroll and not call.masked:
            return tuple(states)  # this branch forgot the constants
        return super().step_arguments(states, constants, call)


class SingleUnrolledStepLosesTimeAxis(CorrectLoop):
    def stack(self, emitted, call):
        if call.unroll and call.steps == 1:
            return list(emitted[0])  # one step: the step's output, no time axis
        return super().stack(emitted, call)


class BackwardOutputsInOriginalOrder(CorrectLoop):
    def stack(self, emitted, call):
        return super().stack(emitted[::-1] if call.go_backwards else emitted, call)


class GoBackwardsReversesFirstInputOnly(CorrectLoop):
    def inputs_at(self, leaves, t, position, call):
        return [leaves[0][:, t]] + [x[:, position] for x in leaves[1:]]


class UnrollIgnoresGoBackwards(CorrectLoop):
    def processing_order(self, steps, call):
        return range(steps) if call.unroll else super().processing_order(steps, call)


class InputLengthOffByOne(CorrectLoop):
    def step_count(self, call):
        return call.input_length - 1 if call.input_length else call.steps


class TimeMajorOutputsLeftBatchMajor(CorrectLoop):
    def caller_layout(self, x, call):
        return x


class TimeMajorRunsBatchSizeSteps(CorrectLoop):
    def step_count(self, call):
        return min(call.batch, call.steps) if call.time_major else call.steps  # axis 1 of (T, B, ...)

    def stack(self, emitted, call):
        stacked = super().stack(emitted, call)
        missing = call.steps - len(emitted)  # slots of steps never run stay zero
        return [np.concatenate([x, np.zeros((x.shape[0], missing) + x.shape[2:], x.dtype)], axis=1) for x in stacked]


class ReturnAllOutputsIgnored(CorrectLoop):
    def outputs_returned(self, outputs, last, call):
        return outputs


# --- what comes back ----------------------------------------------------------------


class StatesWrittenInPlace(CorrectLoop):
    def returned_states(self, states, initial_states):
        for given, final in zip(initial_states, states):
            given[...] = final
        return super().returned_states(states, initial_states)


class MaskedInputsZeroedInPlace(CorrectLoop):
    def __call__(self, step_function, inputs, initial_states, go_backwards=False, mask=None, *args, **kwargs):
        if mask is not None:  # masked steps are inert (R9), so clearing them looks harmless
            keep = np.asarray(mask).astype(bool)
            keep = keep.reshape(keep.shape[:2])  # (B, T), or (T, B) when time-major, like the inputs
            for x in optree.tree_leaves(inputs):
                x[~keep] = 0  # ...but it writes into the caller's arrays
        return super().__call__(step_function, inputs, initial_states, go_backwards, mask, *args, **kwargs)


class StatesChangeDtype(CorrectLoop):
    def returned_states(self, states, initial_states):
        return [s.astype(np.float64 if s.dtype == np.float32 else np.float32) for s in states]


MUTANTS = {
    m.name: m
    for m in (
        Mutant("masked-output-from-states0", "keras-team/keras#11472", "R4",
               "a masked step emits states[0], not the previous output", MaskedOutputFromStates0),
        Mutant("mask-tiled-for-rank-2-only", "keras-team/keras#11498, tensorflow PR #23676", "R3",
               "the (B,) mask is expanded to (B, 1) whatever the rank of the output or state", MaskTiledForRank2Only,
               shows_as=("crash",)),  # as keras-jax-state-mask-rank-crashes: broadcasting fails unless B fits an axis
        Mutant("mask-not-reversed-with-go-backwards", "keras-team/keras PR #1934", "R8",
               "with go_backwards the mask is read in processing order", MaskNotReversedWithGoBackwards),
        Mutant("mask-reversed-on-batch-axis", "keras-team/keras PR #3662, #4570", "R8",
               "with go_backwards the mask is reversed along the batch axis, not time", MaskReversedOnBatchAxis),
        Mutant("mask-reduced-over-batch", "keras-team/keras#1206", "R13",
               "a step is kept only where every sample of the batch keeps it", MaskReducedOverBatch),
        Mutant("numeric-mask-ignored", "keras-team/keras#5867, #2639 (bool vs 0/1 masks)", "R8",
               "a 0/1 integer or float mask is treated as no mask", NumericMaskIgnored),
        Mutant("states-not-masked", "keras-team/keras#1300", "R3",
               "masked steps update the states", StatesNotMasked),
        Mutant("state-mask-from-output-shape", "keras-team/keras PR #10038", "R3",
               "every state is masked with the mask tiled to the output's shape", StateMaskFromOutputShape,
               shows_as=("crash",)),  # the tiled mask broadcasts against no state of another shape
        Mutant("nan-leaks-through-blending", "tensorflow/tensorflow#6209, keras-team/keras PR #449", "R9",
               "masking as m * new + (1 - m) * old, so NaN and inf at masked steps leak", NanLeaksThroughBlending),
        Mutant("unroll-flips-zero-output", "keras-team/keras#11472 (unroll branches drift apart)", "R10",
               "the unrolled branch reads zero_output_for_mask the other way round", UnrollFlipsZeroOutput),
        Mutant("last-output-ignores-zero-output-for-mask", "keras-team/keras#17596", "R6",
               "zero_output_for_mask zeroes the sequence but not last_output", LastOutputIgnoresZeroOutputForMask),
        Mutant("masked-path-takes-first-output", "pattern, no upstream report found (R6)", "R6",
               "with a mask, last_output is the first emitted output", MaskedPathTakesFirstOutput),
        Mutant("constants-dropped-when-unrolled-without-mask", "keras-team/keras PR #2429, #2376, PR #2390", "R2",
               "the unrolled branch without a mask calls the step without the constants",
               ConstantsDroppedWhenUnrolledWithoutMask),
        Mutant("single-unrolled-step-loses-time-axis", "keras-team/keras PR #7387, PR #13078", "R14",
               "unrolled with T = 1, outputs come back without their time axis", SingleUnrolledStepLosesTimeAxis,
               shows_as=("R5", "R11")),  # outputs of the wrong rank: the shape of outputs, R5 (R11 time-major)
        Mutant("backward-outputs-in-original-order", "keras-team/keras PR #7593", "R5",
               "with go_backwards, outputs are flipped back to original time order", BackwardOutputsInOriginalOrder),
        Mutant("go-backwards-reverses-first-input-only", "stanfordmlgroup/nlc#8 (backward input not reversed)", "R2",
               "with go_backwards, only the first input leaf is reversed", GoBackwardsReversesFirstInputOnly),
        Mutant("unroll-ignores-go-backwards", "keras-team/keras PR #3474 (go_backwards missing in one loop)", "R10",
               "the unrolled branch always runs forward", UnrollIgnoresGoBackwards),
        Mutant("input-length-off-by-one", "pattern, no upstream report found (R12)", "R12",
               "input_length = T runs T - 1 steps", InputLengthOffByOne),
        Mutant("time-major-outputs-left-batch-major", "tensorflow/tensorflow#39635 (time_major, wrong axis)", "R11",
               "time-major outputs are not transposed back to (T, B, ...)", TimeMajorOutputsLeftBatchMajor),
        Mutant("time-major-runs-batch-size-steps", "finding: keras-tensorflow- and keras-torch-time-major-runs-batch-size-steps", "R11",
               "time-major inputs run min(B, T) steps: T read from axis 1", TimeMajorRunsBatchSizeSteps),
        Mutant("return-all-outputs-ignored", "pattern, no upstream report found (R7)", "R7",
               "return_all_outputs=False still returns every step", ReturnAllOutputsIgnored),
        Mutant("states-written-in-place", "pattern, no upstream report found (R13)", "R13",
               "the final states are written into the caller's initial-state arrays", StatesWrittenInPlace),
        Mutant("masked-inputs-zeroed-in-place", "pattern, no upstream report found (R13)", "R13",
               "the inputs at masked steps are zeroed in the caller's arrays (results unchanged, R9)",
               MaskedInputsZeroedInPlace),
        Mutant("states-change-dtype", "keras-team/tf-keras#649, keras-team/keras PR #5651", "R13",
               "states come back in another float dtype than the step returned", StatesChangeDtype),
    )
}


# Candidates that no input can tell apart from the correct loop: not in the catalog.
EQUIVALENT = {
    "unroll-ignored": "R10 makes unroll a pure implementation choice, and this loop has one branch: "
    "ignoring the flag is what the correct loop already does.",
    "input-length-ignored": "R12 admits only input_length=None or T, and T is what the loop reads from the inputs.",
    "no-selection-without-mask": "with mask=None every step is kept (R8), so skipping the selection changes no value.",
    "carry-raw-output-with-zero-output-for-mask": "with zero_output_for_mask=True every masked step emits zeros, "
    "so what is carried between steps is never read.",
    "mask-compared-with-zero": "reading a mask as `mask != 0` instead of `astype(bool)` differs only for values "
    "other than 0 and 1, which R8 does not admit.",
}
