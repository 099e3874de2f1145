"""A correct differentiable loop in PyTorch, split at seams like `CorrectLoop`.

The gradient mutants (`conformance.research.mutants.gradient_catalog`) are subclasses of
`CorrectTorchLoop` that override one small method, so their forward results stay exact
and only the backward pass through the loop goes wrong. PyTorch because its eager
autograd is the fastest here; the suite differentiates it with `grad_torch` like any
torch row (conformance/research/mutants/gradient_backend.py).

How this loop meets G3 (masked steps are inert for gradients): it never evaluates the
step on a masked sample's input. At each step it gathers the kept samples, runs the step
on those rows only and scatters the results into a batch whose masked rows are constant
zeros; the selection (R3, R4) then discards those zeros. A masked sample's NaN, inf or
out-of-domain input is therefore never part of the graph, so no `0 * NaN` can reach a
weight's gradient (the where trap, tensorflow#6209), and its input gets no gradient (G2).
When no sample keeps a step the step runs once under `torch.no_grad()`, only to learn the
shapes of its outputs: nothing of it reaches a result or a gradient.
"""

import optree
import torch

from conformance.research.mutants.loop import Call


class CorrectTorchLoop:
    """`rnn(step_function, inputs, initial_states, ...)` -> (last_output, outputs, new_states), in torch."""

    def __call__(self, step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None,
                 unroll=False, input_length=None, time_major=False, zero_output_for_mask=False,
                 return_all_outputs=True):
        leaves, input_structure = optree.tree_flatten(inputs)
        leaves = [x.transpose(0, 1) if time_major else x for x in leaves]  # R11: to (B, T, ...)
        batch, steps = leaves[0].shape[:2]
        call = Call(batch, steps, go_backwards, unroll, input_length, time_major, zero_output_for_mask,
                    return_all_outputs, masked=mask is not None)
        if mask is not None:
            mask = torch.as_tensor(mask)
            mask = mask.transpose(0, 1) if time_major else mask
        keep_mask = self.read_mask(mask, call)
        states, constants = self.initial_states(initial_states), self.constants(constants)
        emitted, carried = [], None
        for t in self.processing_order(steps, call):
            keep = keep_mask[:, t]  # R8: read at original time t
            output_leaves, output_structure, new_states = self.evaluate(
                step_function, [x[:, t] for x in leaves], input_structure, states, constants, keep, call)
            if carried is None:
                carried = [torch.zeros_like(o) for o in output_leaves]  # R4: zeros before any kept step
            fallback = self.masked_output(carried, output_leaves, call)
            states = self.masked_states(keep, new_states, states, call)
            carried = [self.select(keep, o, f, call) for o, f in zip(output_leaves, fallback)]
            emitted.append(carried)
        outputs = [torch.stack([step[i] for step in emitted], dim=1) for i in range(len(emitted[0]))]  # R5
        last = emitted[-1]  # R6
        if not return_all_outputs:
            outputs = [x[:, None] for x in last]  # R7
        outputs = [o.transpose(0, 1) if time_major else o for o in outputs]
        return optree.tree_unflatten(output_structure, last), optree.tree_unflatten(output_structure, outputs), states

    # --- what the loop differentiates (G1) --------------------------------------------

    def initial_states(self, initial_states):
        """The states the first step reads: the caller's tensors, so dL/d them flows (G1)."""
        return list(initial_states)

    def constants(self, constants):
        """R2: every constant, as passed, so dL/d constants flows (G1)."""
        return tuple(constants or ())

    # --- order and mask (R1, R5, R8) --------------------------------------------------

    def processing_order(self, steps, call):
        return range(steps - 1, -1, -1) if call.go_backwards else range(steps)

    def read_mask(self, mask, call):
        """R8: bool or 0/1, (B, T) or (B, T, 1); None keeps every step."""
        if mask is None:
            return torch.ones((call.batch, call.steps), dtype=torch.bool)
        return mask.reshape(call.batch, call.steps) != 0

    # --- one step (R2, R3, R4, G2, G3) ------------------------------------------------

    def evaluate(self, step_function, x_leaves, input_structure, states, constants, keep, call):
        """(output leaves, output structure, new state leaves), each of the full batch.

        G3: the step runs on the kept samples only; the masked rows of what it returns are
        constant zeros, which the selection discards."""
        rows = torch.nonzero(keep).flatten()
        if len(rows) == call.batch:
            return self.step(step_function, x_leaves, input_structure, states, constants)
        if len(rows) == 0:
            with torch.no_grad():  # only the shapes: nothing of it is returned or differentiated
                outputs, structure, new_states = self.step(step_function, x_leaves, input_structure, states, constants)
            return [torch.zeros_like(o) for o in outputs], structure, [torch.zeros_like(s) for s in new_states]
        take = lambda tensors: [x.index_select(0, rows) for x in tensors]  # noqa: E731
        outputs, structure, new_states = self.step(step_function, take(x_leaves), input_structure, take(states),
                                                   tuple(take(constants)))
        put = lambda part: part.new_zeros((call.batch,) + part.shape[1:]).index_copy(0, rows, part)  # noqa: E731
        return [put(o) for o in outputs], structure, [put(s) for s in new_states]

    def step(self, step_function, x_leaves, input_structure, states, constants):
        """R2: the step on one time slice, the states followed by every constant."""
        output, new_states = step_function(optree.tree_unflatten(input_structure, list(x_leaves)),
                                           tuple(states) + tuple(constants))
        output_leaves, output_structure = optree.tree_flatten(output)
        return output_leaves, output_structure, list(optree.tree_leaves(new_states))

    def per_sample(self, keep, like):
        """A (B,) mask shaped to broadcast over a tensor of any rank (R3, R4)."""
        return keep.reshape((keep.shape[0],) + (1,) * (like.dim() - 1))

    def select(self, keep, new, old, call):
        """R9, G2: selection, whose gradient reaches `new` only where kept, `old` only where masked."""
        return torch.where(self.per_sample(keep, old), new, old)

    def masked_states(self, keep, new_states, states, call):
        """R3: a masked sample keeps every state (and its gradient flows through, G1)."""
        return [self.select(keep, new, old, call) for new, old in zip(new_states, states)]

    def masked_output(self, carried, output_leaves, call):
        """R4: what a masked step emits: the carried output, or zeros."""
        if call.zero_output_for_mask:
            return [torch.zeros_like(o) for o in output_leaves]
        return carried
