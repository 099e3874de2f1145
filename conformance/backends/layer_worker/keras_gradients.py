"""Rule L7 inside a layer worker: Keras' own gradients, and one `train_on_batch` step.

Imported only by the worker (through conformance/backends/layer_worker/worker.py), next to keras_side.
Both requests run on the layer or model `LayerRunner.built_for` keeps for the forward
requests (siblings reuse it, and what these requests add to it: a compiled model, a
compiled Theano gradient function).

Gradients are each framework's own: `tf.GradientTape` (Keras 3 on TensorFlow, tf_keras),
`jax.value_and_grad` through Keras' stateless API (`keras.StatelessScope`, what
`Layer.stateless_call` runs in; entered around the layer's `__call__`, so a Masking
layer's mask reaches the RNN as it does for a user), torch autograd, and `K.gradients`
on the model's graph for Keras 2 on Theano. L = sum over the leaves of [output, *states]
of `sum(weight * leaf)` (conformance/contract/gradients.py). "call" differentiates the layer called
eagerly, "predict" the functional model called on tensors (Theano: its symbolic graph).

The training step is the user's path: the "predict" model compiled with plain SGD (fixed
learning rate, no momentum) and a loss whose value is L' (`training_weights`): a
`Loss` returning `sum(y_true * y_pred, axis=-1)` with reduction "sum", so no batch-size division and no
mask renormalisation (Keras multiplies by the output mask; L' is zero there already).
It returns each cell weight's change after one `train_on_batch`.
"""

import numpy as np

from conformance.backends.layer_worker.keras_side import _flatten

NO_AUTODIFF = ("numpy",)


def framework_of(runner):
    if runner.flavor == "keras3":
        return runner.keras.backend.backend()
    return "tensorflow" if runner.flavor == "tf_keras" else "theano"


def gradients(runner, example, mode, weights):
    """([output, *states], {"inputs": [dx], "initial_states": [...], "weights": [...]}) as
    NumPy arrays; state gradients summed over the layer's copies (L7's layout)."""
    framework = framework_of(runner)
    if framework in NO_AUTODIFF:
        raise NotImplementedError(f"Keras on {framework} cannot differentiate (contract section 4)")
    built = runner.built_for(example, mode)
    variables = runner.cell_variables(built.layer, example)
    compute = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch, "theano": _theano}[framework]
    returned, grads = compute(runner, built, example, mode, weights, variables)
    n_states = len(example.initial_states) if example.layer.initial_state else 0
    returned = [np.asarray(runner.to_numpy(r)) for r in returned]
    grads = [np.zeros(np.shape(p), np.float32) if g is None else np.asarray(runner.to_numpy(g)) for g, p in grads]
    weights = runner.per_weight(example, grads[1 + n_states :])  # a sliced kernel's gradient, weight by weight
    return returned, {"inputs": grads[:1], "initial_states": grads[1 : 1 + n_states], "weights": weights}


def _forward(runner, built, example, mode, x, states):
    """[output, *states] of the layer ("call") or the model ("predict") on tensors."""
    if mode == "call":
        return _flatten(built.call_on(x, states, example))
    mask = None if example.mask is None else runner.to_tensor(example.mask)  # Keras refuses mixed lists
    return _flatten(built.model(built.model_data(example, x, states, mask)))


def _loss(returned, weights, reduce_sum, constant, as_float32=lambda leaf: leaf):
    """L, summed in float32: a layer under a low-precision policy returns its compute
    dtype, and a loss is float32 under Keras' mixed precision (`as_float32` casts a leaf)."""
    if len(returned) != len(weights):
        raise ValueError(f"the layer returned {len(returned)} arrays, the contract's result has {len(weights)}")
    total = 0
    for leaf, weight in zip(returned, weights):
        total = total + reduce_sum(constant(weight) * as_float32(leaf))
    return total


def _data(example):
    states = list(example.initial_state_values()) if example.layer.initial_state else []
    return example.inputs[0], states


def _tensorflow(runner, built, example, mode, weights, variables):
    import tensorflow as tf

    x, states = _data(example)
    x, states = tf.constant(x), [tf.constant(s) for s in states]
    native = [v.value if runner.flavor == "keras3" else v for v in variables]
    with tf.GradientTape() as tape:
        tape.watch([x] + states)
        returned = _forward(runner, built, example, mode, x, states)
        loss = _loss(returned, weights, tf.reduce_sum, tf.constant, lambda leaf: tf.cast(leaf, tf.float32))
    sources = [x] + states + native
    grads = tape.gradient(loss, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return returned, list(zip(grads, sources))


def _jax(runner, built, example, mode, weights, variables):
    import jax
    import jax.numpy as jnp

    keras = runner.keras
    x, states = _data(example)

    def loss_of(values, x, states):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            returned = _forward(runner, built, example, mode, x, states)
        return _loss(returned, weights, jnp.sum, jnp.asarray, lambda leaf: leaf.astype(jnp.float32)), returned

    values = [v.value for v in variables]
    (_, returned), (g_values, g_x, g_states) = jax.value_and_grad(loss_of, argnums=(0, 1, 2), has_aux=True)(
        values, jnp.asarray(x), [jnp.asarray(s) for s in states]
    )
    return returned, list(zip([g_x] + list(g_states) + list(g_values), [x] + states + values))


def _torch(runner, built, example, mode, weights, variables):
    import torch

    x, states = _data(example)
    x = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(s, requires_grad=True) for s in states]
    returned = _forward(runner, built, example, mode, x, states)
    loss = _loss(returned, weights, torch.sum, torch.as_tensor, lambda leaf: leaf.float())
    sources = [x] + states + [v.value for v in variables]
    if not loss.requires_grad:  # L depends on none of them (e.g. a counter state only): all zero
        return [r.detach() for r in returned], [(None, s.detach()) for s in sources]
    grads = torch.autograd.grad(loss, sources, allow_unused=True)
    return [r.detach() for r in returned], [(None if g is None else g.detach(), s.detach()) for g, s in zip(grads, sources)]


def _theano(runner, built, example, mode, weights, variables):
    K = runner.keras.backend
    model, lo = built.model, example.layer
    n_states = len(example.initial_states) if lo.initial_state else 0
    copies = 2 if lo.bidirectional else 1
    if "gradients" not in built.extra:  # compiled once per built model; siblings reuse it
        loss_weights = [K.placeholder(ndim=K.ndim(o)) for o in model.outputs]
        loss = _loss(list(model.outputs), loss_weights, K.sum, lambda w: w)
        state_inputs = model.inputs[len(model.inputs) - n_states * copies :] if n_states else []
        import theano

        # K.gradients is theano.grad with disconnected inputs an error; a source L does
        # not depend on (a weight a counter state never reads) has gradient zero instead.
        sources = [model.inputs[0]] + state_inputs + list(variables)
        grads = theano.grad(loss, sources, disconnected_inputs="ignore", return_disconnected="zero")
        built.extra["gradients"] = K.function(list(model.inputs) + loss_weights, list(model.outputs) + grads)
    x, states = _data(example)
    answered = built.extra["gradients"](built.model_data(example, x, states) + list(weights))
    returned, grads = answered[: len(model.outputs)], answered[len(model.outputs) :]
    # Each copy's state input has its own gradient; the layer's input is their sum.
    per_copy = grads[1 : 1 + n_states * copies]
    summed = [sum(per_copy[c * n_states + i] for c in range(copies)) for i in range(n_states)]
    grads = [grads[0]] + summed + grads[1 + n_states * copies :]
    return returned, list(zip(grads, [x] + states + [None] * len(variables)))


def train_step(runner, example, weights, learning_rate):
    """Each cell weight's change (after - before) after one `train_on_batch` of the
    "predict" model with SGD(learning_rate) on the loss sum(weights * [output, *states])."""
    framework = framework_of(runner)
    if framework in NO_AUTODIFF:
        raise NotImplementedError(f"Keras on {framework} cannot train (contract section 4)")
    built = runner.built_for(example, "predict")
    model = built.model
    if built.extra.get("learning_rate") != learning_rate:
        loss = _weighted_sum_loss(runner)
        n = len(model.outputs)
        # tf_keras matches losses and targets to the model's nested output structure
        # (stacked cells return their states cell by cell): one loss for every output.
        optimizer = _sgd(runner, learning_rate)
        if example.layer.dtype_policy == "mixed_float16":  # what the policy trains with: dynamic loss scaling
            optimizer = runner.keras.mixed_precision.LossScaleOptimizer(optimizer)
        model.compile(optimizer=optimizer, loss=loss if n == 1 or runner.flavor == "tf_keras" else [loss] * n)
        built.extra["learning_rate"] = learning_rate
    variables = runner.cell_variables(built.layer, example)
    before = [runner.value_of(v) for v in variables]
    x, states = _data(example)
    targets = [np.asarray(w, np.float32) for w in weights]
    for _ in range(SKIPPED_STEPS_ALLOWED + 1):
        model.train_on_batch(built.model_data(example, x, states), _targets(runner, model, targets))
        changes = [runner.value_of(v) - b for v, b in zip(variables, before)]
        if example.layer.dtype_policy != "mixed_float16" or any(np.any(c != 0) for c in changes):
            break
    return runner.per_weight(example, changes)


# A dynamic loss scale starts at 2**15 and halves at each step whose scaled gradients
# overflow, skipping that step: the documented way it finds its scale. Under mixed_float16
# the step compared is the first one applied, after at most this many skipped ones.
SKIPPED_STEPS_ALLOWED = 24


def _targets(runner, model, targets):
    """y for train_on_batch: one array per output, in the model's output structure (tf_keras
    refuses a flat list for a model whose outputs nest, as stacked cells' states do)."""
    if len(targets) == 1:
        return targets[0]
    if runner.flavor == "tf_keras":
        import tensorflow as tf

        return tf.nest.pack_sequence_as(model._nested_outputs, targets)
    return targets


def _sgd(runner, learning_rate):
    SGD = runner.keras.optimizers.SGD
    return SGD(learning_rate=learning_rate, momentum=0.0, nesterov=False)


def _weighted_sum_loss(runner):
    """A Loss whose value is sum(y_true * y_pred) over every element: summed over the
    last axis, as Keras' own losses are (a per-step loss is what the output mask, (B, T),
    multiplies), then reduction "sum" (no division by the batch size)."""
    keras = runner.keras
    if runner.flavor == "keras3":
        base, reduction, reduce_sum = keras.losses.Loss, "sum", keras.ops.sum
    elif runner.flavor == "tf_keras":
        base, reduction, reduce_sum = keras.losses.Loss, keras.losses.Reduction.SUM, keras.backend.sum
    else:
        from keras.utils import losses_utils

        base, reduction, reduce_sum = keras.losses.Loss, losses_utils.Reduction.SUM, keras.backend.sum

    cast = keras.ops.cast if runner.flavor == "keras3" else keras.backend.cast

    class WeightedSum(base):
        def call(self, y_true, y_pred):  # in float32 (a mixed policy's outputs are float16 or bfloat16)
            return reduce_sum(cast(y_true, "float32") * cast(y_pred, "float32"), axis=-1)

    return WeightedSum(reduction=reduction, name="weighted_sum")
