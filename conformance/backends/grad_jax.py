"""The loss L and its gradients in JAX, for any loop with the `rnn` signature.

Shared by `keras-jax` (eager, and traced inside one `jax.jit` value-and-grad function per
configuration) and by `--impl` with `--impl-ops jax`: both form L and differentiate it the
same way (CONTRACT.md section 5, G1), so a difference between them is the loop's, never
ours. The same signature as `grad_tensorflow` and `grad_torch`. Float64 examples need
`jax_enable_x64` (G1 is checked in float64): the callers enable it before converting data.
"""

import jax
import jax.numpy as jnp
import numpy as np

from conformance.contract.gradients import DIFFERENTIATED, DIFFERENTIATED_DATA, Gradients, loss_pairs, weight_parts



def value_and_grad(loop, data, weights, loss_weights):
    """`(returned, grads)`: `returned = loop(data, weights)` = (last_output, outputs,
    new_states) as the loop returned them, and `grads` a dict with one tuple of arrays per
    part of `gradients.DIFFERENTIATED` (inputs flattened in the layout they were passed).

    `data` is the dict of `rnn` data arguments (inputs, initial_states, mask, constants;
    absent ones may be left out), `weights` the list of cell weight arrays, `loss_weights`
    a `gradients.loss_weights` Result or its three `weight_parts` nests. Pure, so it may
    be called eagerly or inside `jax.jit` (tracers in, tracers out). A source L does not
    depend on gets zeros (JAX's own answer); nothing is sanitised (NaN at masked steps go
    in as they are, G3).
    """
    if hasattr(loss_weights, "last_output"):
        loss_weights = weight_parts(loss_weights)
    sources = {name: data[name] for name in DIFFERENTIATED_DATA if data.get(name) is not None}
    fixed = {name: value for name, value in data.items() if name not in sources}  # the mask

    def loss(sources, weights):
        returned = loop({**fixed, **sources}, weights)
        return _loss(returned, loss_weights), returned

    (_, returned), (data_grads, weight_grads) = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(sources, list(weights))
    grads = {name: tuple(jax.tree_util.tree_leaves(data_grads.get(name, ()))) for name in DIFFERENTIATED_DATA}
    grads["weights"] = tuple(weight_grads)
    return returned, grads


def _loss(returned, loss_weights):
    """L = sum of sum(weight * leaf) over `gradients.loss_pairs`, in the leaves' dtype."""
    last_output, outputs, new_states = returned
    total = 0.0
    for leaf, weight in loss_pairs((last_output, outputs, list(new_states)), loss_weights):
        leaf = jnp.asarray(leaf)
        total = total + jnp.sum(jnp.asarray(weight, dtype=leaf.dtype) * leaf)
    return jnp.asarray(total)


def as_gradients(grads):
    """A `value_and_grad` dict of JAX arrays as a NumPy `gradients.Gradients`."""
    return Gradients(**{part: tuple(np.asarray(g) for g in grads[part]) for part in DIFFERENTIATED})
