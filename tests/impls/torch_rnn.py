"""A correct PyTorch `rnn` written apart from the reference, as a third-party author would
hand it to `rnn-conformance --impl tests.impls.torch_rnn:rnn --impl-ops torch`.

Masking is `torch.where(mask, new, old)` at every step: right forward (R3, R4) and for
gradients (G1, G2, G4) as long as the step stays finite on masked inputs. It is not G3-safe:
NaN, inf or 0.0 under log/sqrt at a masked step make every gradient NaN (the where trap,
pytorch#52248), so the gradient run of this loop fails G3 (exit 1), as keras-torch does.
"""

import optree
import torch


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None, time_major=False, zero_output_for_mask=False, return_all_outputs=True):
    leaves, structure = optree.tree_flatten(inputs)
    leaves = [x.transpose(0, 1) if time_major else x for x in leaves]  # to (B, T, ...)
    batch, steps = leaves[0].shape[:2]
    if mask is None:
        valid = torch.ones((batch, steps), dtype=torch.bool)
    else:
        valid = mask.bool().reshape(mask.shape[:2])  # a trailing axis of size 1 dropped
        valid = valid.T if time_major else valid  # to (B, T)
    times = range(steps - 1, -1, -1) if go_backwards else range(steps)
    states = list(initial_states)
    extra = tuple(constants or ())
    carried, sequence, out_structure = None, [], None
    for t in times:
        out, new = step_function(optree.tree_unflatten(structure, [x[:, t] for x in leaves]), tuple(states) + extra)
        keep = valid[:, t]
        out_leaves, out_structure = optree.tree_flatten(out)
        shaped = lambda a: keep.reshape((-1,) + (1,) * (a.ndim - 1))  # noqa: E731
        states = [torch.where(shaped(n), n, s) for n, s in zip(optree.tree_leaves(new), states)]
        if carried is None or zero_output_for_mask:
            carried = [torch.zeros_like(o) for o in out_leaves]
        out_leaves = [torch.where(shaped(o), o, c) for o, c in zip(out_leaves, carried)]
        carried = out_leaves
        sequence.append(out_leaves)
    stacked = [torch.stack([step[i] for step in sequence], dim=1) for i in range(len(sequence[0]))]
    if not return_all_outputs:
        stacked = [s[:, -1:] for s in stacked]
    if time_major:
        stacked = [s.transpose(0, 1) for s in stacked]
    return optree.tree_unflatten(out_structure, sequence[-1]), optree.tree_unflatten(out_structure, stacked), states
