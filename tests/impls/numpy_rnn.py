"""A correct NumPy `rnn` written apart from the reference, and faulty variants of it.

`rnn` is what a third-party backend author would hand to `rnn-conformance --impl`; each
`rnn_*` variant breaks one contract rule the way real loops have (see conformance's
mutant catalog for the history). The suite's own tests run the real command on them:
the correct one must exit 0, each variant 1 with its rule in the JSON report.
"""

import functools

import numpy as np
import optree


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None, time_major=False, zero_output_for_mask=False, return_all_outputs=True, fault=None):
    leaves, structure = optree.tree_flatten(inputs)
    leaves = [np.swapaxes(np.asarray(x), 0, 1) if time_major else np.asarray(x) for x in leaves]  # to (B, T, ...)
    batch, steps = leaves[0].shape[:2]
    if mask is None:
        valid = np.ones((batch, steps), bool)
    else:
        m = np.asarray(mask).astype(bool)
        m = m.reshape(m.shape[:2])  # a trailing axis of size 1 dropped
        valid = m.T if time_major else m  # to (B, T)
    times = list(range(steps))[::-1] if go_backwards else list(range(steps))
    if fault == "one-step-less":
        times = times[:-1] or times
    states = [np.array(s) for s in initial_states]
    extra = tuple(np.array(c) for c in (constants or ()))
    carried, sequence = None, []
    for t in times:
        x_t = optree.tree_unflatten(structure, [x[:, t] for x in leaves])
        out, new = step_function(x_t, tuple(states) + extra)
        keep = valid[:, t] if fault != "mask-not-reversed" else valid[:, times.index(t)]
        out_leaves, out_structure = optree.tree_flatten(out)
        if carried is None:
            carried = [np.zeros_like(o) for o in out_leaves]
        if fault == "masked-output-from-states0":
            carried = [np.broadcast_to(states[0], o.shape) for o in out_leaves]
        shaped = lambda a: keep.reshape((-1,) + (1,) * (np.ndim(a) - 1))  # noqa: E731
        if fault != "states-not-masked":
            new = [np.where(shaped(n), n, s) for n, s in zip(optree.tree_leaves(new), states)]
        states = [np.asarray(n) for n in optree.tree_leaves(new)]
        fallback = [np.zeros_like(o) for o in out_leaves] if zero_output_for_mask else carried
        out_leaves = [np.where(shaped(o), o, f) for o, f in zip(out_leaves, fallback)]
        carried = out_leaves
        sequence.append(out_leaves)
    last = optree.tree_unflatten(out_structure, sequence[-1])
    stacked = [np.stack([step[i] for step in sequence], axis=1) for i in range(len(sequence[0]))]
    if not return_all_outputs and fault != "return-all-outputs-ignored":
        stacked = [s[:, -1:] for s in stacked]
    if time_major:
        stacked = [np.swapaxes(s, 0, 1) for s in stacked]
    return last, optree.tree_unflatten(out_structure, stacked), states


# Each variant breaks one rule (the rule its name would be reported under).
rnn_masked_output_from_states0 = functools.partial(rnn, fault="masked-output-from-states0")  # R4, keras#11472
rnn_states_not_masked = functools.partial(rnn, fault="states-not-masked")  # R3, keras#1300
rnn_mask_not_reversed = functools.partial(rnn, fault="mask-not-reversed")  # R8, keras PR #1934
rnn_return_all_outputs_ignored = functools.partial(rnn, fault="return-all-outputs-ignored")  # R7
rnn_one_step_less = functools.partial(rnn, fault="one-step-less")  # R1
