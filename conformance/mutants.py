"""Faulty NumPy loops, each breaking one rule the way real implementations have.

Each mutant is a small change around the correct reference loop. The suite's own tests
feed them to the properties to prove that every property can fail, and that it fails
with the rule the mutant breaks. (The mutation-analysis work grows this into the full
catalog of historical bugs with a score; keras#11472 itself is covered by the
`tensorflow-2018` backend.)
"""

from dataclasses import dataclass

import numpy as np
import optree

from conformance import reference


@dataclass(frozen=True)
class Mutant:
    name: str
    models: str  # the upstream bug or pattern it reproduces
    rule: str  # the contract rule it breaks
    rnn: object


def _mask_not_reversed(step_function, inputs, initial_states, go_backwards=False, mask=None, **kwargs):
    # The mask is read in processing order instead of original time (keras PR #1934).
    if go_backwards and mask is not None:
        mask = np.asarray(mask)[:, ::-1] if not kwargs.get("time_major") else np.asarray(mask)[::-1]
    return reference.rnn(step_function, inputs, initial_states, go_backwards=go_backwards, mask=mask, **kwargs)


def _mask_reduced_over_batch(step_function, inputs, initial_states, mask=None, **kwargs):
    # One mask for the whole batch: a step is kept only where every sample keeps it (keras#1206).
    if mask is not None:
        batch_axis = 1 if kwargs.get("time_major") else 0
        mask = np.asarray(mask).astype(bool)
        mask = np.broadcast_to(mask.all(axis=batch_axis, keepdims=True), mask.shape)
    return reference.rnn(step_function, inputs, initial_states, mask=mask, **kwargs)


def _nan_leaks_through_blending(step_function, inputs, initial_states, **kwargs):
    # m * new + (1 - m) * old style masking: 0 * NaN is NaN (tensorflow#6209, keras PR #449).
    last, outputs, states = reference.rnn(step_function, inputs, initial_states, **kwargs)
    leak = sum(0 * np.sum(x) for x in optree.tree_leaves(inputs))
    return optree.tree_map(lambda x: x + np.asarray(leak, x.dtype), last), outputs, states


def _non_boolean_mask_ignored(step_function, inputs, initial_states, mask=None, **kwargs):
    # A 0/1 numeric mask is silently treated as no mask.
    if mask is not None and np.asarray(mask).dtype != bool:
        mask = None
    return reference.rnn(step_function, inputs, initial_states, mask=mask, **kwargs)


def _masked_path_takes_first_output(step_function, inputs, initial_states, mask=None, **kwargs):
    # With any mask the loop reports the first step's output as the last one.
    last, outputs, states = reference.rnn(step_function, inputs, initial_states, mask=mask, **kwargs)
    if mask is not None and kwargs.get("return_all_outputs", True):
        time_axis = 0 if kwargs.get("time_major") else 1
        last = optree.tree_map(lambda x: np.take(x, 0, axis=time_axis), outputs)
    return last, outputs, states


def _unroll_flips_zero_output(step_function, inputs, initial_states, unroll=False, zero_output_for_mask=False, **kwargs):
    # The unrolled branch handles zero_output_for_mask the other way round.
    if unroll:
        zero_output_for_mask = not zero_output_for_mask
    return reference.rnn(step_function, inputs, initial_states, zero_output_for_mask=zero_output_for_mask, **kwargs)


def _input_length_truncates(step_function, inputs, initial_states, input_length=None, **kwargs):
    # input_length is read as "process one step fewer" (an off-by-one).
    if input_length is not None and input_length > 1:
        axis = 0 if kwargs.get("time_major") else 1
        inputs = optree.tree_map(lambda x: np.take(x, range(input_length - 1), axis=axis), inputs)
        if kwargs.get("mask") is not None:
            kwargs["mask"] = np.take(np.asarray(kwargs["mask"]), range(input_length - 1), axis=axis)
    return reference.rnn(step_function, inputs, initial_states, **kwargs)


def _time_major_outputs_left_batch_major(step_function, inputs, initial_states, time_major=False, **kwargs):
    # Outputs are not transposed back to (T, B, ...).
    last, outputs, states = reference.rnn(step_function, inputs, initial_states, time_major=time_major, **kwargs)
    if time_major:
        outputs = optree.tree_map(lambda x: np.swapaxes(x, 0, 1), outputs)
    return last, outputs, states


def _time_major_runs_batch_size_steps(step_function, inputs, initial_states, time_major=False, mask=None, **kwargs):
    # `input_length = inputs.shape[1]` read from time-major inputs: only min(B, T) steps run,
    # and the output slots of the steps never run stay zero (Keras 3.15 TensorFlow backend,
    # eager; see the known-divergence ledger).
    if not time_major:
        return reference.rnn(step_function, inputs, initial_states, mask=mask, **kwargs)
    leaves, treedef = optree.tree_flatten(inputs)
    steps, run = leaves[0].shape[0], min(leaves[0].shape[:2])
    inputs = optree.tree_unflatten(treedef, [x[:run] for x in leaves])
    mask = None if mask is None else np.asarray(mask)[:run]
    last, outputs, states = reference.rnn(step_function, inputs, initial_states, time_major=True, mask=mask, **kwargs)
    if kwargs.get("return_all_outputs", True):
        pad = lambda x: np.concatenate([x, np.zeros((steps - run,) + x.shape[1:], x.dtype)])
        outputs = optree.tree_map(pad, outputs)
    return last, outputs, states


def _masked_output_from_states0(step_function, inputs, initial_states, mask=None, go_backwards=False, **kwargs):
    # keras#11472: at a masked step the loop emits the previous states[0], not the previous
    # output (Keras 2.2.4's TensorFlow backend with unroll=False). Batch-major, one input.
    if mask is None or kwargs.get("time_major"):
        return reference.rnn(step_function, inputs, initial_states, mask=mask, go_backwards=go_backwards, **kwargs)
    mask = np.asarray(mask).reshape(np.asarray(mask).shape[:2]).astype(bool)
    states = [np.array(s) for s in initial_states]
    constants = tuple(kwargs.get("constants") or ())
    emitted = []
    for t in (range(inputs.shape[1] - 1, -1, -1) if go_backwards else range(inputs.shape[1])):
        output, new_states = step_function(inputs[:, t], tuple(states) + constants)
        keep = mask[:, t].reshape((-1,) + (1,) * (np.ndim(output) - 1))
        output = np.where(keep, output, states[0])  # the bug: states[0] stands for the output
        states = [np.where(mask[:, t].reshape((-1,) + (1,) * (s.ndim - 1)), n, s) for n, s in zip(new_states, states)]
        emitted.append(output)
    outputs = np.stack(emitted, axis=1)
    if not kwargs.get("return_all_outputs", True):
        outputs = outputs[:, -1:]
    return emitted[-1], outputs, states


def _return_all_outputs_ignored(step_function, inputs, initial_states, return_all_outputs=True, **kwargs):
    return reference.rnn(step_function, inputs, initial_states, **kwargs)


def _states_written_in_place(step_function, inputs, initial_states, **kwargs):
    # The loop updates the caller's state arrays in place.
    last, outputs, states = reference.rnn(step_function, inputs, initial_states, **kwargs)
    for given, final in zip(optree.tree_leaves(initial_states), optree.tree_leaves(states)):
        given[...] = final
    return last, outputs, states


def _states_upcast(step_function, inputs, initial_states, **kwargs):
    # New states come back as float64 whatever the step returned.
    last, outputs, states = reference.rnn(step_function, inputs, initial_states, **kwargs)
    return last, outputs, optree.tree_map(lambda s: s.astype(np.float64) if s.dtype == np.float32 else s.astype(np.float32), states)


MUTANTS = {
    m.name: m
    for m in (
        Mutant("mask-not-reversed-with-go-backwards", "keras PR #1934", "R8", _mask_not_reversed),
        Mutant("mask-reduced-over-batch", "keras#1206", "R13", _mask_reduced_over_batch),
        Mutant("nan-leaks-through-blending", "tensorflow#6209, keras PR #449", "R9", _nan_leaks_through_blending),
        Mutant("non-boolean-mask-ignored", "R8: 0/1 masks", "R8", _non_boolean_mask_ignored),
        Mutant("masked-path-takes-first-output", "R6: last output", "R6", _masked_path_takes_first_output),
        Mutant("unroll-flips-zero-output", "R10: branches drift apart", "R10", _unroll_flips_zero_output),
        Mutant("input-length-truncates", "R12: off-by-one", "R12", _input_length_truncates),
        Mutant("time-major-outputs-left-batch-major", "R11", "R11", _time_major_outputs_left_batch_major),
        Mutant("time-major-runs-batch-size-steps", "Keras 3.15 TensorFlow rnn, eager", "R11", _time_major_runs_batch_size_steps),
        Mutant("masked-output-from-states0", "keras-team/keras#11472", "R4", _masked_output_from_states0),
        Mutant("return-all-outputs-ignored", "R7", "R7", _return_all_outputs_ignored),
        Mutant("states-written-in-place", "R13: arguments modified", "R13", _states_written_in_place),
        Mutant("states-change-dtype", "R13: dtypes", "R13", _states_upcast),
    )
}
