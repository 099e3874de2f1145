"""The contract as one NumPy loop: the yardstick every backend is compared with.

This is CONTRACT.md section 1 written as plain code, rule by rule. It is meant to be
read next to the contract, so it favours literal steps over speed or cleverness. It never
looks at any backend; when a backend disagrees with it, the backend has a finding.
"""

import numpy as np
import optree


def rnn(
    step_function,
    inputs,
    initial_states,
    go_backwards=False,
    mask=None,
    constants=None,
    unroll=False,
    input_length=None,
    time_major=False,
    zero_output_for_mask=False,
    return_all_outputs=True,
):
    """Run `step_function` over the time axis of `inputs`: returns (last_output, outputs, new_states)."""
    del unroll  # R10: unrolling is an implementation choice; the results are the same.
    del input_length  # R12: a hint; None and T give identical results.

    # R13: work on copies, so nothing the caller passed is modified in place.
    inputs = optree.tree_map(np.array, inputs)
    states = optree.tree_map(np.array, initial_states)
    constants = tuple(np.array(c) for c in (constants or ()))

    # R11: time-major is the transpose of batch-major; compute batch-major, transpose back.
    if time_major:
        inputs = optree.tree_map(_swap_batch_and_time, inputs)
        if mask is not None:
            mask = _swap_batch_and_time(np.asarray(mask))

    # R1/R2: T comes from the time axis; every input leaf shares B and T.
    first_input = optree.tree_leaves(inputs)[0]
    batch, steps = first_input.shape[0], first_input.shape[1]

    # R8: a mask is boolean or 0/1 of shape (B, T) or (B, T, 1); no mask means all true.
    if mask is None:
        mask = np.ones((batch, steps), dtype=bool)
    mask = np.asarray(mask).reshape(batch, steps).astype(bool)

    # R1: process t = 0..T-1, or T-1..0 with go_backwards. R8: the mask is indexed by
    # original time, so it is read at the same t as the inputs.
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)

    # R14: nothing below special-cases B = 1, T = 1, size-1 states or outputs, or rows
    # masked at every step; they take the same lines as every other input.
    emitted = []  # R5: outputs in processing order.
    previous_output = None  # R4: the output last emitted, per sample.
    for t in order:
        # R2: the step sees this step's input (same structure) and states + constants.
        input_t = optree.tree_map(lambda x: x[:, t], inputs)
        output_t, new_states_t = step_function(input_t, tuple(states) + constants)
        keep = mask[:, t]  # (B,) true where sample b processes step t.

        if previous_output is None:
            # R4: before a sample's first unmasked step, its carried output is zeros
            # (never the initial state, never states[0]).
            previous_output = optree.tree_map(np.zeros_like, output_t)

        # R3: where masked, every state keeps its value; broadcast over any rank.
        # R9: selection (np.where), not arithmetic, so NaN at masked steps cannot leak.
        states = optree.tree_map(
            lambda new, old: np.where(_per_sample(keep, old), new, old),
            optree.tree_unflatten(optree.tree_structure(states), optree.tree_leaves(new_states_t)),
            states,
        )

        # R4: where masked, emit the previous output (zero_output_for_mask=False) or zeros;
        # per sample, broadcast to every leaf of a nested output.
        if zero_output_for_mask:
            fallback = optree.tree_map(np.zeros_like, output_t)
        else:
            fallback = previous_output
        output_t = optree.tree_map(
            lambda out, alt: np.where(_per_sample(keep, out), out, alt), output_t, fallback
        )
        previous_output = output_t
        emitted.append(output_t)

    # R5: stack along the time axis in processing order (outputs[:, 0] is original step
    # T-1 with go_backwards). R6: the last output is the one emitted at the last step.
    outputs = optree.tree_map(lambda *steps_: np.stack(steps_, axis=1), *emitted)
    last_output = emitted[-1]
    if not return_all_outputs:
        # R7: only the last step, with a time axis of length 1.
        outputs = optree.tree_map(lambda last: last[:, None], last_output)

    if time_major:  # R11
        outputs = optree.tree_map(_swap_batch_and_time, outputs)
    # R13: new_states has the structure of initial_states.
    return last_output, outputs, states


def _swap_batch_and_time(x):
    return np.swapaxes(x, 0, 1)


def _per_sample(keep, like):
    """Reshape a (B,) mask so it broadcasts over an array of any rank (R3, R4)."""
    return keep.reshape((keep.shape[0],) + (1,) * (np.ndim(like) - 1))
