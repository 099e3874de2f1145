"""Building a stack of `RNN` layers (L8) inside a layer worker, as a user builds one.

The first layer takes the example's mask by its L3 route (the `mask=` argument or a
`Masking` layer in front); each later layer takes whatever mask the layer before hands on,
or, for `mask_each_layer`, the mask L8 says, given as its `mask=`. Modes as for one layer
(conformance/backends/layer_worker/keras_side.py): "call" calls each layer eagerly on the previous one's
output tensor; "predict" builds a functional `Model` (every mask, state and input an
`Input`) or, for `stack_build == "sequential"`, a `Sequential` model behind a `Masking`
layer, and runs `predict_on_batch`. The weights are set from the specs, layer by layer.
"""

import numpy as np

from cells.layer_example import MASK_VALUE
from conformance.contract.layer_reference import handed_masks


def layers_of(example):
    """Every layer of the stack as a LayerExample of its own (inputs unused: building
    needs only the cells and options), first to last."""
    dummy = np.zeros((example.batch, example.steps, 1), "float32")
    return [example.first_layer()] + [n.alone(dummy, None, "none") for n in example.next_layers]


def build(runner, example, mode):
    """(layers, call, model): the stack's layers (keras objects, first to last), a function
    example -> what the stack returns as the mode runs it, and in "predict" its model (the
    runner resets what a model compiled with the weights as constants: OpenVINO's)."""
    k, first = runner.keras, example.layer
    parts = layers_of(example)
    layers = [runner.layer_of(part) for part in parts]
    masked_by_layer = example.mask is not None and first.mask_route == "masking-layer"
    mask_argument = example.mask is not None and first.mask_route == "mask-argument"

    def states_of(part, values):
        return runner.initial_state_argument(part, list(values)) * (2 if part.layer.bidirectional else 1)

    if mode == "call":

        def call(ex):
            h, kwargs = runner.to_tensor(ex.inputs[0]), {}
            if masked_by_layer:
                h = k.layers.Masking(MASK_VALUE)(h)
            if mask_argument:
                kwargs["mask"] = runner.to_tensor(ex.mask)
            for n, (layer, part) in enumerate(zip(layers, layers_of(ex))):
                if n and ex.mask_each_layer:
                    kwargs["mask"] = runner.to_tensor(handed_masks(ex)[n - 1])
                if part.layer.initial_state:
                    kwargs["initial_state"] = states_of(part, [runner.to_tensor(s) for s in _initial(ex, n)])
                h, kwargs = layer(h, **kwargs), {}
            return h

        return layers, call, None

    steps = example.steps if any(part.options.unroll for part in parts) else None
    shape = (steps,) + example.inputs[0].shape[2:]
    if example.stack_build == "sequential":
        start = [k.Input(shape=shape)] if runner.flavor == "keras3" else []
        masking = k.layers.Masking(MASK_VALUE) if start else k.layers.Masking(MASK_VALUE, input_shape=shape)
        model = k.Sequential(start + [masking] + layers)
        return layers, lambda ex: model.predict_on_batch(ex.inputs[0]), model
    x_in = k.Input(shape=shape, dtype="float32")
    inputs, feeds, h, kwargs = [x_in], [lambda ex: ex.inputs[0]], x_in, {}
    if masked_by_layer:
        h = k.layers.Masking(MASK_VALUE)(x_in)
    for n, (layer, part) in enumerate(zip(layers, parts)):
        mask_here = mask_argument if n == 0 else example.mask_each_layer
        if mask_here:
            inputs.append(k.Input(shape=(steps,), dtype="bool"))
            feeds.append(lambda ex, n=n: ex.mask if n == 0 else handed_masks(ex)[n - 1])
            kwargs["mask"] = inputs[-1]
        if part.layer.initial_state:
            state_inputs = [k.Input(shape=s.shape[1:], dtype="float32") for s in _initial(example, n)]
            inputs += state_inputs
            feeds += [lambda ex, n=n, i=i: _initial(ex, n)[i] for i in range(len(state_inputs))]
            kwargs["initial_state"] = states_of(part, state_inputs)
        h, kwargs = layer(h, **kwargs), {}
    model = k.Model(inputs, h)
    return layers, lambda ex: model.predict_on_batch([feed(ex) for feed in feeds]), model


def _initial(example, n):
    """Layer n's given initial states (the first layer's are the example's own)."""
    return list(example.initial_states) if n == 0 else list(example.next_layers[n - 1].initial_states)
