"""The 2018 faulty TensorFlow loop, kept as a deliberately known-bad implementation.

Why this module exists: the suite must show that it catches the real historical masking
bug, keras-team/keras#11472 (https://github.com/keras-team/keras/issues/11472), fixed by
PR #11499 (https://github.com/keras-team/keras/pull/11499, Keras 2.2.5; tf.keras got the
same fix via tensorflow#23632 / PR #23676). Its ``rnn`` must therefore fail the contract in
exactly the historical way and conform everywhere else.

The historical bug lived only in the ``tf.while_loop`` branch (``unroll=False``) when a
mask was given. At each step the emitted output was computed as

    tiled_mask_t = tf.tile(mask_t, [1, tf.shape(output)[1]])   # mask_t: (B, 1)
    output = tf.where(tiled_mask_t, output, states[0])

so a masked step emitted the *previous first state*, not the previous output (contract
R4: "never the initial state, never states[0]"). With a cell whose output is not its first
state (``output_size != state_size[0]``, or an output that is not the state at all), masked
steps emit wrong values, or crash when ``states[0]`` and the output differ in shape or
dtype. The mask was also tiled only along axis 1, for the output and for every state, which
breaks (wrong broadcast or a crash) for outputs or states of rank other than 2 (R3, R4).

Everything else is the correct loop from ``fixed_tensorflow``: the unrolled branch
(``unroll=True``) carried the previous output correctly in 2018 and is correct here, and
without a mask both branches are correct. This re-creation is written from that
description, not copied; the ``zero_output_for_mask`` option (added to Keras later) is
honoured by emitting zeros at masked steps, still with the faulty axis-1 tiling.
"""

import tensorflow as tf

from conformance.impls import fixed_tensorflow as _fixed

__all__ = ["rnn"]


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None,
        constants=None, unroll=False, input_length=None, time_major=False,
        zero_output_for_mask=False, return_all_outputs=True):
    """Same signature and results as ``fixed_tensorflow.rnn`` except the 2018 bug.

    The bug is active only with ``unroll=False`` and a mask (see the module docstring).
    """
    del input_length  # R12
    seq = _fixed.prepare(inputs, mask, initial_states, constants, time_major,
                         go_backwards)
    if unroll:  # correct in 2018: the previous output is carried
        step = _fixed.masked_step(step_function, seq, zero_output_for_mask)
        loop = _fixed.unrolled_loop
    else:
        loop = _fixed.while_loop
        if seq.mask is None:
            step = _fixed.masked_step(step_function, seq, zero_output_for_mask)
        else:
            step = _faulty_masked_step(step_function, seq, zero_output_for_mask)
    last, outputs_tm, states = loop(step, seq, return_all_outputs)
    return _fixed.finish(seq, last, outputs_tm, states, step.call.structure)


def _faulty_masked_step(step_function, seq, zero_output_for_mask):
    """The 2018 ``tf.while_loop`` step body: ``step(t, states, prev)`` ignoring ``prev``."""
    call = _fixed.StepCall(step_function, seq)

    def step(t, states, prev):
        del prev  # THE BUG: the previous emitted output is never consulted.
        output, new_states = call(t, states)
        mask_t = tf.expand_dims(seq.mask[t], 1)  # (B, 1), as the 2018 loop read it
        emitted = []
        for o in output:
            # THE BUG: a masked step emits states[0] (the previous first state).
            fallback = tf.zeros_like(o) if zero_output_for_mask else states[0]
            emitted.append(tf.where(_tile_axis1(mask_t, o), o, fallback))
        new_states = [tf.where(_tile_axis1(mask_t, new), new, old)
                      for new, old in zip(new_states, states)]
        return emitted, new_states

    step.call = call
    return step


def _tile_axis1(mask_t, x):
    """THE BUG, part two: the (B, 1) mask is tiled along axis 1 only, whatever x's rank."""
    return tf.tile(mask_t, [1, tf.shape(x)[1]])
