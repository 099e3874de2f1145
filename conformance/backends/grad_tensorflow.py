"""The loss L and its gradients in TensorFlow, for any loop with the `rnn` signature.

One function, `value_and_grad`, shared by the TensorFlow adapters (eager, and traced
inside `tf.function` / `jit_compile=True`, the tape inside the compiled function) and by
`--impl` with `--impl-ops tensorflow`: every TF row forms L and differentiates it the same
way (CONTRACT.md section 5, G1), so a difference between rows is the loop's, never ours.
"""

import tensorflow as tf

from conformance.contract.gradients import DIFFERENTIATED, DIFFERENTIATED_DATA, loss_pairs, weight_parts



def value_and_grad(loop, data, weights, loss_weights):
    """`(returned, grads)`: `returned = loop(data, weights)` = (last_output, outputs,
    new_states) as the loop returned them, and `grads` a dict with one tuple of tensors per
    part of `gradients.DIFFERENTIATED` (inputs flattened in the layout they were passed).

    `data` is the dict of `rnn` data arguments (inputs, initial_states, mask, constants;
    absent ones may be left out), `weights` the list of cell weight tensors, `loss_weights`
    a `gradients.loss_weights` Result or its three `weight_parts` nests, as tensors or
    arrays. A source L does not depend on gets zeros (G1: its derivative is zero).
    """
    if hasattr(loss_weights, "last_output"):
        loss_weights = weight_parts(loss_weights)
    data = {name: None if value is None else tf.nest.map_structure(tf.convert_to_tensor, value) for name, value in data.items()}
    weights = [tf.convert_to_tensor(w) for w in weights]
    sources = {name: tuple(tf.nest.flatten(data.get(name))) if data.get(name) is not None else () for name in DIFFERENTIATED_DATA}
    sources["weights"] = tuple(weights)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for part in DIFFERENTIATED:
            tape.watch(list(sources[part]))
        returned = loop(data, weights)
        loss = _loss(returned, loss_weights)
    flat = [t for part in DIFFERENTIATED for t in sources[part]]
    grads = iter(tape.gradient(loss, flat, unconnected_gradients=tf.UnconnectedGradients.ZERO))
    return returned, {part: tuple(next(grads) for _ in sources[part]) for part in DIFFERENTIATED}


def _loss(returned, loss_weights):
    """L = sum of reduce_sum(weight * leaf) over `gradients.loss_pairs`, in the leaves' dtype."""
    last_output, outputs, new_states = returned
    terms = []
    for leaf, weight in loss_pairs((last_output, outputs, list(new_states)), loss_weights):
        leaf = tf.convert_to_tensor(leaf)
        terms.append(tf.reduce_sum(tf.cast(weight, leaf.dtype) * leaf))
    return tf.add_n(terms) if terms else tf.constant(0.0)
