"""A TensorFlow 2 recurrent loop that follows the whole contract (CONTRACT.md, section 1).

Why this module exists: the conformance suite needs one TensorFlow implementation of the
Keras backend ``rnn`` signature that is known to conform, written from the contract rather
than copied from Keras, so that the suite can tell backend findings apart from harness bugs
and so that TensorFlow-specific execution modes (eager, ``tf.function`` with unknown batch
and time sizes, XLA via ``jit_compile=True``) can be exercised against the reference.

Design, in one paragraph: inputs and mask are moved to time-major processing order once
(transpose for batch-major, reverse for ``go_backwards``). One function, ``_masked_step``,
performs a processed step with all masking rules (R3, R4, R9); both loops call it, so
``unroll=True`` and ``unroll=False`` cannot drift apart (R10). The ``tf.while_loop`` branch
peels the first step out of the loop: that real step gives the structure, dtypes and
shapes of the output (needed for the loop-carried "previous output" and the
``tf.TensorArray``s) without calling the step function an extra time.

Gradients (CONTRACT.md section 5, G1-G4): with a mask, the step function never sees a
raw input at a masked position (G3). Selecting its results away with ``tf.where`` is not
enough: the backward pass still multiplies their zero cotangent by the step's local
derivative there, and a NaN input, or 0.0 in a cell that takes log, sqrt or the
reciprocal, makes that ``0 * inf = NaN`` (the where trap, tensorflow#6209). So before the
loop, ``substitute_masked_inputs`` replaces every masked input, behind
``tf.stop_gradient``, by the same sample's input at its first unmasked step, or the batch's
first unmasked input when that sample has none (R2 allows any input at a masked step).
States and constants passed at masked steps are the carried, finite ones. When no input
of the batch is unmasked at all, no result may depend on a step call: ``run_if`` (a
``tf.while_loop`` of 0 or 1 trips, which XLA can differentiate where it cannot
differentiate ``tf.cond`` over dynamic sizes) then returns zeros and the initial states,
whose shapes come from one probe call behind ``tf.stop_gradient``.

Limitations: ``unroll=True`` needs a static number of time steps (ValueError otherwise);
under XLA the number of steps should be static (it is whenever the compiled function is
traced with concrete shapes), because XLA needs compile-time ``TensorArray`` sizes. Every
leaf of the inputs, outputs and states needs a statically known rank. T must be >= 1.
"""

import tensorflow as tf

# ``rnn`` is the public API; the other top-level helpers are reused by
# ``tensorflow_2018`` (the known-bad loop), which differs only in its masked step.
__all__ = ["rnn"]


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None,
        constants=None, unroll=False, input_length=None, time_major=False,
        zero_output_for_mask=False, return_all_outputs=True):
    """Iterate ``step_function`` over the time axis of ``inputs``.

    Returns ``(last_output, outputs, new_states)`` as described in CONTRACT.md section 1.
    ``input_length`` is accepted and ignored (R12).
    """
    del input_length  # R12: a hint only; the step count comes from the inputs (R1).
    seq = prepare(inputs, mask, initial_states, constants, time_major, go_backwards)
    loop = unrolled_loop if unroll else while_loop
    if seq.mask is None:  # no masked step: nothing to keep away from the step function
        step = masked_step(step_function, seq, zero_output_for_mask)
        last, outputs_tm, states = loop(step, seq, return_all_outputs)
        return finish(seq, last, outputs_tm, states, step.call.structure)
    # G3: the step's output shapes and dtypes come from a probe call that no value and no
    # gradient depends on; they give the results when no input is unmasked (R3, R4).
    probe = StepCall(step_function, frozen(seq))
    zeros = [tf.zeros_like(tf.stop_gradient(o)) for o in probe(0, probe.seq.states)[0]]
    tiled = [tf.tile(z[None], tf.stack([seq.n_steps] + [1] * z.shape.rank)) for z in zeros]
    nothing_processed = (zeros, tiled if return_all_outputs else [], list(seq.states))

    def processed():  # G3: the step only ever sees unmasked inputs (or copies of them)
        step = masked_step(step_function, substitute_masked_inputs(seq), zero_output_for_mask)
        last, outputs_tm, states = loop(step, step.call.seq, return_all_outputs)
        return last, outputs_tm or [], states

    last, outputs_tm, states = run_if(tf.reduce_any(seq.mask), processed, nothing_processed)
    return finish(seq, last, outputs_tm if return_all_outputs else None, states, probe.structure)


# --------------------------------------------------------------------------- G3


def substitute_masked_inputs(seq):
    """``seq`` with every masked input replaced by an input known to be valid (G3).

    A masked sample b at step t gets, behind ``tf.stop_gradient``, its own input at its
    first unmasked step, or (if it has none) the batch's first unmasked input. Both are
    in the cell's domain, so the step there computes finite values and finite local
    derivatives, which its zero cotangent (R3, R4 discard the results) turns into exact
    zeros: no NaN from ``0 * inf`` (the where trap, tensorflow#6209), and no gradient
    value that depends on what the masked positions hold. ``tf.where`` sends dL/d inputs
    at masked positions an exact zero (G2). Call only when some input is unmasked.
    """
    mask = seq.mask  # (T, B)
    batch = tf.shape(mask)[1]
    own_step = tf.argmax(tf.cast(mask, tf.int32), axis=0, output_type=tf.int32)  # (B,)
    has_valid = tf.reduce_any(mask, axis=0)  # (B,)
    first = tf.argmax(tf.cast(tf.reshape(mask, [-1]), tf.int32), output_type=tf.int32)
    any_step, any_sample = first // batch, first % batch
    xs = []
    for x in seq.xs:
        own = tf.gather_nd(x, tf.stack([own_step, tf.range(batch)], axis=1))  # (B, ...)
        other = tf.gather(x[any_step], tf.fill([batch], any_sample))
        keep = tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([tf.rank(x) - 2], tf.int32)], 0))
        shape = tf.shape(x)
        # Stopped after the gathers and broadcasts, so no gradient of theirs is even built
        # (XLA cannot compile one whose shapes are not static); the select's operands
        # all have x's own shape for the same reason.
        filler = tf.stop_gradient(tf.broadcast_to(select(has_valid, own, other)[None], shape))
        xs.append(tf.where(tf.broadcast_to(keep, shape), x, filler))
    return Sequence(seq.input_structure, xs, mask, seq.state_structure, seq.states,
                    seq.constants, seq.time_major)


def frozen(seq):
    """``seq`` behind ``tf.stop_gradient``: for a probe call whose values are not used."""
    hold = lambda ts: [tf.stop_gradient(t) for t in ts]  # noqa: E731
    return Sequence(seq.input_structure, hold(seq.xs), seq.mask, seq.state_structure,
                    hold(seq.states), tuple(tf.nest.map_structure(tf.stop_gradient, seq.constants)),
                    seq.time_major)


def run_if(condition, branch, otherwise):
    """``branch()`` if the scalar bool ``condition`` holds, else ``otherwise`` (same nest).

    A ``tf.while_loop`` of 0 or 1 trips rather than ``tf.cond``: when it does not hold,
    neither the forward nor the backward pass evaluates ``branch`` (G3), and XLA can
    differentiate it with dynamic batch and time sizes (it cannot differentiate a
    ``tf.cond`` over them: its placeholders for the other branch need static shapes).
    """
    flat = tf.nest.flatten(otherwise)

    def body(trip, *_):
        return [trip + 1] + tf.nest.flatten(branch())

    invariants = [tf.TensorShape([])] + [tf.TensorShape([None] * t.shape.rank) for t in flat]
    trips = tf.cast(condition, tf.int32)
    _, *results = tf.while_loop(lambda trip, *_: trip < trips, body, [tf.constant(0)] + flat,
                                shape_invariants=invariants, maximum_iterations=1)
    return tf.nest.pack_sequence_as(otherwise, results)


# --------------------------------------------------------------------------- preparation


class Sequence:
    """Everything the loops need, already in time-major processing order."""

    def __init__(self, input_structure, xs, mask, state_structure, states, constants,
                 time_major):
        self.input_structure = input_structure
        self.xs = xs                      # flat list of (T, B, ...) tensors, processing order
        self.mask = mask                  # (T, B) bool in processing order, or None
        self.state_structure = state_structure
        self.states = states              # flat list of state tensors
        self.constants = constants        # tuple, passed unchanged to every step (R2)
        self.time_major = time_major
        self.n_steps = _dim(xs[0], 0)     # R1: python int when static, else a scalar tensor

    def input_at(self, t):
        """The inputs of processing step ``t``, in the caller's structure (R2)."""
        return tf.nest.pack_sequence_as(self.input_structure, [x[t] for x in self.xs])


def prepare(inputs, mask, initial_states, constants, time_major, go_backwards):
    """Convert the arguments into a ``Sequence`` (nothing is modified in place, R13)."""
    flat = [tf.convert_to_tensor(x) for x in tf.nest.flatten(inputs)]
    xs = [x if time_major else _swap_time_batch(x) for x in flat]
    mask = _prepare_mask(mask, time_major)
    if go_backwards:  # R1, R5, R8: the mask is reversed together with the inputs.
        xs = [tf.reverse(x, [0]) for x in xs]
        mask = None if mask is None else tf.reverse(mask, [0])
    if tf.is_tensor(initial_states) or not isinstance(initial_states, (list, tuple)):
        initial_states = [initial_states]
    states = [tf.convert_to_tensor(s) for s in tf.nest.flatten(initial_states)]
    if constants is None:
        constants = ()
    elif tf.is_tensor(constants) or not isinstance(constants, (list, tuple)):
        constants = (constants,)
    return Sequence(inputs, xs, mask, initial_states, states, tuple(constants), time_major)


def _prepare_mask(mask, time_major):
    """R8: bool or numeric 0/1, (B, T) or (B, T, 1); returned as bool (T, B)."""
    if mask is None:
        return None
    mask = tf.convert_to_tensor(mask)
    if mask.shape.rank == 3:  # the accepted trailing axis of size 1
        mask = mask[:, :, 0]
    if mask.dtype != tf.bool:
        mask = tf.not_equal(mask, tf.zeros([], mask.dtype))
    return mask if time_major else tf.transpose(mask)  # R11: (T, B) when time-major


# --------------------------------------------------------------------------- one step


def masked_step(step_function, seq, zero_output_for_mask):
    """Build ``step(t, states, prev) -> (emitted, new_states)`` on flat lists of tensors.

    ``prev`` is the output emitted at the previous processed step, or None before the
    first processed step.
    """
    call = StepCall(step_function, seq)

    def step(t, states, prev):
        output, new_states = call(t, states)
        if seq.mask is None:
            return output, new_states
        keep = seq.mask[t]  # (B,) bool: True where sample b is processed at this step
        # R3 (and R9): masked samples keep their previous state; selection, no arithmetic.
        new_states = [select(keep, new, old) for new, old in zip(new_states, states)]
        # R4: masked samples emit zeros (zero_output_for_mask) or their previous emitted
        # output, which is zeros before their first unmasked step (never states[0]).
        if zero_output_for_mask or prev is None:
            prev = [tf.zeros_like(o) for o in output]
        emitted = [select(keep, o, p) for o, p in zip(output, prev)]
        return emitted, new_states

    step.call = call  # exposes the output structure seen by the last call
    return step


class StepCall:
    """Calls the user's step function on flat states; remembers the output structure."""

    def __init__(self, step_function, seq):
        self.step_function = step_function
        self.seq = seq
        self.structure = None

    def __call__(self, t, states):
        seq = self.seq
        state_arg = tf.nest.pack_sequence_as(seq.state_structure, list(states))
        # R2: the current states followed by every constant, in every branch.
        output, new_states = self.step_function(
            seq.input_at(t), tuple(state_arg) + seq.constants)
        self.structure = output
        new_flat = tf.nest.flatten(new_states)
        if len(new_flat) != len(states):
            raise ValueError(
                f"step_function returned {len(new_flat)} state tensors, expected "
                f"{len(states)} (the leaves of initial_states)")
        return tf.nest.flatten(output), new_flat


def select(keep, new, old):
    """``tf.where`` with the per-sample ``keep`` (B,) broadcast to ``new``'s rank (R3, R4).

    Selection (not ``m * x + (1 - m) * y``) so NaN/inf at masked steps cannot leak (R9).
    """
    rank = new.shape.rank
    if rank is None:
        shape = tf.concat([[-1], tf.ones([tf.rank(new) - 1], tf.int32)], axis=0)
    else:
        shape = [-1] + [1] * (rank - 1)
    return tf.where(tf.reshape(keep, shape), new, old)


# --------------------------------------------------------------------------- the loops


def unrolled_loop(step, seq, return_all_outputs):
    """``unroll=True``: a Python loop over a static number of steps."""
    n_steps = seq.n_steps
    if not isinstance(n_steps, int):
        raise ValueError("unroll=True needs a statically known number of time steps; "
                         "got inputs whose time dimension is unknown. Use unroll=False.")
    states, prev, emitted = seq.states, None, []
    for t in range(n_steps):
        prev, states = step(t, states, prev)
        emitted.append(prev)
    outputs = None
    if return_all_outputs:  # R5: stacked in processing order, time-major for now.
        outputs = [tf.stack(leaf, axis=0) for leaf in zip(*emitted)]
    return prev, outputs, states


def while_loop(step, seq, return_all_outputs):
    """``unroll=False``: ``tf.while_loop`` with one ``tf.TensorArray`` per output leaf.

    The first step is peeled so its real output provides the loop-carried "previous
    output" (R4) and the TensorArray dtypes and element shapes.
    """
    n_steps = seq.n_steps
    first, states = step(0, seq.states, None)
    arrays = []
    if return_all_outputs:
        arrays = [tf.TensorArray(o.dtype, size=n_steps, element_shape=o.shape).write(0, o)
                  for o in first]

    def body(t, states, prev, arrays):
        emitted, states = step(t, states, prev)
        arrays = [a.write(t, o) for a, o in zip(arrays, emitted)]
        return [t + 1, states, emitted, arrays]

    # A static bound where T is static (XLA differentiates a while_loop only with one),
    # and at least 1: XLA cannot compile the gradient of a loop bounded by 0 (T = 1).
    bound = max(n_steps - 1, 1) if isinstance(n_steps, int) else tf.maximum(n_steps - 1, 1)
    _, states, last, arrays = tf.while_loop(
        lambda t, *_: t < n_steps, body, [tf.constant(1), states, first, arrays],
        maximum_iterations=bound)
    outputs = [a.stack() for a in arrays] if return_all_outputs else None
    return last, outputs, states


# --------------------------------------------------------------------------- results


def finish(seq, last, outputs_tm, states, output_structure):
    """Pack the flat results into the caller's structures and layout."""
    time_axis = 0 if seq.time_major else 1
    if outputs_tm is None:  # R7: outputs == last_output[:, None]
        outputs = [tf.expand_dims(o, time_axis) for o in last]
    else:  # R11: the stacked outputs are time-major; transpose for batch-major.
        outputs = [o if seq.time_major else _swap_time_batch(o) for o in outputs_tm]
    # R6: ``last`` is the output emitted at the last processed step.
    last_output = tf.nest.pack_sequence_as(output_structure, list(last))
    outputs = tf.nest.pack_sequence_as(output_structure, outputs)
    # R13: new_states as a list with the structure of initial_states.
    new_states = list(tf.nest.pack_sequence_as(seq.state_structure, list(states)))
    return last_output, outputs, new_states


def _swap_time_batch(x):
    """Swap axes 0 and 1 of a tensor of rank >= 2."""
    rank = x.shape.rank
    return tf.transpose(x, [1, 0] + list(range(2, rank)))


def _dim(x, axis):
    """The static size of ``x`` along ``axis`` if known, else the dynamic one."""
    static = x.shape[axis]
    return static if static is not None else tf.shape(x)[axis]
