"""The loss L and its gradients in PyTorch autograd, for any loop with the `rnn` signature.

Shared by `keras-torch` and by `--impl` with `--impl-ops torch`: both form L and
differentiate it the same way (CONTRACT.md section 5, G1), so a difference between them
is the loop's, never ours. The same signature as `grad_tensorflow` and `grad_jax`.
"""

import optree
import torch

from conformance.backends.base import torch_to_numpy
from conformance.contract.gradients import DIFFERENTIATED, DIFFERENTIATED_DATA, Gradients, loss_pairs, weight_parts



def value_and_grad(loop, data, weights, loss_weights):
    """`(returned, grads)`: `returned = loop(data, weights)` = (last_output, outputs,
    new_states) as the loop returned them, and `grads` a dict with one tuple of tensors per
    part of `gradients.DIFFERENTIATED` (inputs flattened in the layout they were passed).

    `data` is the dict of `rnn` data arguments (inputs, initial_states, mask, constants;
    absent ones may be left out), `weights` the list of cell weight tensors, `loss_weights`
    a `gradients.loss_weights` Result or its three `weight_parts` nests. Every source is
    made a leaf tensor that requires grad, on the same memory (a loop that writes into its
    arguments still reaches the example, R13). A source L does not depend on gets zeros
    (G1: its derivative is zero); nothing is sanitised (NaN at masked steps go in, G3).
    """
    if hasattr(loss_weights, "last_output"):
        loss_weights = weight_parts(loss_weights)
    leaf = lambda t: t.detach().requires_grad_(True)  # noqa: E731 - same storage, a fresh autograd leaf
    data = {name: optree.tree_map(leaf, value) if name in DIFFERENTIATED_DATA else value for name, value in data.items()}
    weights = [leaf(w) for w in weights]
    sources = {name: tuple(optree.tree_leaves(data.get(name))) for name in DIFFERENTIATED_DATA}
    sources["weights"] = tuple(weights)
    with torch.enable_grad():
        returned = loop(data, weights)
        loss = _loss(returned, loss_weights)
    flat = [t for part in DIFFERENTIATED for t in sources[part]]
    if loss.requires_grad and flat:
        grads = torch.autograd.grad(loss, flat, allow_unused=True)
    else:  # L is a constant of every source (e.g. every output masked to zero)
        grads = [None] * len(flat)
    grads = iter(torch.zeros_like(t) if g is None else g for t, g in zip(flat, grads))
    return returned, {part: tuple(next(grads) for _ in sources[part]) for part in DIFFERENTIATED}


def _loss(returned, loss_weights):
    """L = sum of sum(weight * leaf) over `gradients.loss_pairs`, in the leaves' dtype."""
    last_output, outputs, new_states = returned
    total = torch.zeros(())
    for leaf, weight in loss_pairs((last_output, outputs, list(new_states)), loss_weights):
        leaf = torch.as_tensor(leaf)
        total = total.to(leaf.dtype) + torch.sum(torch.as_tensor(weight, dtype=leaf.dtype) * leaf)
    return total


def as_gradients(grads):
    """A `value_and_grad` dict of tensors as a NumPy `gradients.Gradients`."""
    return Gradients(**{part: tuple(torch_to_numpy(g) for g in grads[part]) for part in DIFFERENTIATED})
