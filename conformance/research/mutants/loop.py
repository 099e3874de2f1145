"""A correct loop of the contract, split at the seams where real loops went wrong.

Every mutant of the catalog (`conformance.research.mutants.catalog`) is a subclass of `CorrectLoop`
that overrides one of its small methods, so the diff between a mutant and a correct loop
is the few lines the upstream bug changed. It is written apart from
`conformance.contract.reference`, which stays one literal function and is never mutated: the
reference is the yardstick, this loop is the thing the mutants break. The suite's own
tests check that this loop passes every property (a control for the mutation score).
"""

from dataclasses import dataclass

import numpy as np
import optree


@dataclass(frozen=True)
class Call:
    """The options of one call, as the seams below see them."""

    batch: int
    steps: int  # T, from the time axis of the inputs
    go_backwards: bool
    unroll: bool
    input_length: object
    time_major: bool
    zero_output_for_mask: bool
    return_all_outputs: bool
    masked: bool  # a mask was passed (None means every step is kept)


class CorrectLoop:
    """`rnn(step_function, inputs, initial_states, ...)` -> (last_output, outputs, new_states)."""

    def __call__(self, step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None,
                 unroll=False, input_length=None, time_major=False, zero_output_for_mask=False,
                 return_all_outputs=True):
        leaves, input_structure = optree.tree_flatten(inputs)
        leaves = [np.swapaxes(np.asarray(x), 0, 1) if time_major else np.asarray(x) for x in leaves]  # R11: to (B, T, ...)
        batch, steps = leaves[0].shape[:2]
        call = Call(batch, steps, go_backwards, unroll, input_length, time_major, zero_output_for_mask,
                    return_all_outputs, masked=mask is not None)
        if mask is not None:
            mask = np.asarray(mask)
            mask = np.swapaxes(mask, 0, 1) if time_major else mask
        keep_mask = self.read_mask(mask, call)
        states, constants = list(initial_states), tuple(constants or ())
        emitted, carried = [], None
        for position, t in enumerate(self.processing_order(self.step_count(call), call)):
            x_t = optree.tree_unflatten(input_structure, self.inputs_at(leaves, t, position, call))
            output, new_states = step_function(x_t, self.step_arguments(states, constants, call))
            output_leaves, output_structure = optree.tree_flatten(output)
            keep = self.keep_at(keep_mask, t, position, call)
            if carried is None:
                carried = [np.zeros_like(o) for o in output_leaves]  # R4: zeros before any kept step
            fallback = self.masked_output(carried, output_leaves, states, call)
            states = self.masked_states(keep, optree.tree_leaves(new_states), states, output_leaves, call)
            carried = [self.select(keep, o, f, call) for o, f in zip(output_leaves, fallback)]
            emitted.append(carried)
        last = self.last_output(emitted, call)
        outputs = self.outputs_returned(self.stack(emitted, call), last, call)
        outputs = [self.caller_layout(o, call) for o in outputs]
        states = self.returned_states(states, initial_states)
        return optree.tree_unflatten(output_structure, last), optree.tree_unflatten(output_structure, outputs), states

    # --- layout (R1, R11) -------------------------------------------------------------

    def caller_layout(self, x, call):
        """Back to the caller's layout: outputs are (T, B, ...) when time_major (R11)."""
        return np.swapaxes(x, 0, 1) if call.time_major else x

    def step_count(self, call):
        """R1: T from the time axis; input_length is only a hint (R12)."""
        return call.steps

    # --- order (R1, R5, R8) -----------------------------------------------------------

    def processing_order(self, steps, call):
        """Original time indices in the order they are processed (R1)."""
        return range(steps - 1, -1, -1) if call.go_backwards else range(steps)

    def inputs_at(self, leaves, t, position, call):
        """R2: every input leaf at original step t (the `position`-th step processed)."""
        return [x[:, t] for x in leaves]

    def read_mask(self, mask, call):
        """R8: bool or 0/1, (B, T) or (B, T, 1), indexed by original time; None keeps all."""
        if mask is None:
            return np.ones((call.batch, call.steps), bool)
        return mask.reshape(call.batch, call.steps).astype(bool)

    def keep_at(self, keep_mask, t, position, call):
        """(B,) true where each sample processes original step t (R8: read at t, not at position)."""
        return keep_mask[:, t]

    # --- one step (R2, R3, R4, R9) ----------------------------------------------------

    def step_arguments(self, states, constants, call):
        """R2: the states followed by every constant, in every branch."""
        return tuple(states) + constants

    def per_sample(self, keep, like, call):
        """A (B,) mask shaped to broadcast over an array of any rank (R3, R4)."""
        return keep.reshape((keep.shape[0],) + (1,) * (np.ndim(like) - 1))

    def select(self, keep, new, old, call):
        """R9: selection, not arithmetic, so NaN at masked steps cannot leak."""
        return np.where(self.per_sample(keep, old, call), new, old)

    def masked_states(self, keep, new_states, states, output_leaves, call):
        """R3: a masked sample keeps every state."""
        return [self.select(keep, new, old, call) for new, old in zip(new_states, states)]

    def masked_output(self, carried, output_leaves, states, call):
        """R4: what a masked step emits: the carried output, or zeros."""
        if call.zero_output_for_mask:
            return [np.zeros_like(o) for o in output_leaves]
        return carried

    # --- results (R5, R6, R7, R13) ----------------------------------------------------

    def stack(self, emitted, call):
        """R5: per output leaf, (B, T, ...) in processing order."""
        return [np.stack([step[i] for step in emitted], axis=1) for i in range(len(emitted[0]))]

    def last_output(self, emitted, call):
        """R6: the output emitted at the last processed step."""
        return emitted[-1]

    def outputs_returned(self, outputs, last, call):
        """R7: return_all_outputs=False keeps only the last output, with a time axis of 1."""
        return outputs if call.return_all_outputs else [x[:, None] for x in last]

    def returned_states(self, states, initial_states):
        """R13: new arrays, the dtypes the step returned; the caller's arrays untouched."""
        return [np.asarray(s) for s in states]
