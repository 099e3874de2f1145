"""Building a built-in layer (issue 41) inside a layer worker, on the path the example asks.

"own": the layer class as a user writes it (`keras.layers.LSTM(...)`, Keras 3's default
`use_cudnn="auto"`): Keras 3 hands LSTM and GRU to the backend's own kernel where it takes
the configuration (`keras.src.backend.lstm` / `gru`, and `bidirectional_lstm` / `_gru`
for a Bidirectional pair), falling back to the generic loop where it raises
NotImplementedError; tf_keras' LSTM and GRU run their own `standard_lstm` / `gpu_lstm`
functions; Keras 2.3.1's layers are the generic `RNN` over their cell.
"generic": the generic `RNN` loop: `use_cudnn=False` in Keras 3, `RNN(LSTMCell(...))` in
the Keras 2 lineage (which has no such switch).

`KernelWatch` records which of Keras 3's own kernels answered (returned, not raised
NotImplementedError), so a row can say whether "own" reached the backend's kernel or fell
back: an own path is only as good as that count.
"""

from cells.builtin_cell import is_builtin_cell

KERNELS = ("lstm", "gru", "bidirectional_lstm", "bidirectional_gru")


class KernelWatch:
    """Wraps Keras 3's `keras.src.backend.<kernel>` (the layers call them through the
    module, so the wrapper sees every call) and keeps the names that answered."""

    def __init__(self):
        from keras.src import backend

        self.answered = []
        for name in KERNELS:
            original = getattr(backend, name, None)
            if original is not None and not getattr(original, "watched", False):
                setattr(backend, name, self._watched(name, original))

    def _watched(self, name, original):
        def kernel(*args, **kwargs):
            result = original(*args, **kwargs)  # NotImplementedError: the layer falls back
            self.answered.append(name)
            return result

        kernel.watched = True
        return kernel

    def take(self):
        """The kernels that answered since the last take, in call order."""
        answered, self.answered = self.answered, []
        return answered


def is_builtin_example(example):
    return is_builtin_cell(getattr(getattr(example, "spec", None), "structure", None))


def builtin_layer(runner, example_layer_options, spec, options, dtype, stateful=False):
    """The Keras layer of a built-in cell `spec` with the `rnn` options and layer options
    given (unwrapped: keras_side wraps it in Bidirectional); `stateful` for L9."""
    k, s, lo = runner.keras, spec.structure, example_layer_options
    arguments = dict(s.layer_arguments(), **dtype)
    common = dict(return_sequences=options.return_all_outputs, return_state=lo.return_state,
                  go_backwards=options.go_backwards, **dtype, **({"stateful": True} if stateful else {}))
    if not s.rank:
        common["unroll"] = options.unroll
    if runner.flavor != "keras2":  # Keras 2's RNN has no zero_output_for_mask (contract section 4)
        common["zero_output_for_mask"] = options.zero_output_for_mask
    layer_class = getattr(k.layers, s.kind)
    if runner.flavor == "keras3":
        if s.kind in ("LSTM", "GRU"):  # the layers with an own path (use_cudnn)
            common["use_cudnn"] = "auto" if lo.path == "own" else False
        return layer_class(s.units, **arguments, **common)
    if lo.path == "own" or s.rank:  # a ConvLSTM has no generic form apart from itself
        return layer_class(s.units, **arguments, **common)
    cell_class = getattr(k.layers, f"{s.kind}Cell")
    return k.layers.RNN(cell_class(s.units, **arguments), **common)


def path_taken(runner, example, answered, layer):
    """What ran for a built-in example: "own:<kernel>" when one of Keras 3's own kernels
    answered; "own:standard" where tf_keras' LSTM or GRU takes its own function (its
    `_could_use_gpu_kernel`: tanh, sigmoid, a bias, no unroll; `standard_lstm` on a CPU,
    cuDNN on a GPU); "own:fell-back" for the own path that ran the generic loop; "generic"
    for the generic loop asked for."""
    if example.layer.path != "own":
        return "generic"
    if answered:
        return "own:" + "+".join(sorted(set(answered)))
    inner = getattr(layer, "forward_layer", layer)
    if runner.flavor == "tf_keras" and getattr(inner, "_could_use_gpu_kernel", False):
        return "own:standard"
    return "own:fell-back"


def run_stateful(runner, example, cuts, mode):
    """L9: a new layer built with `stateful=True` (its batch size fixed, as Keras asks),
    called on the batches the time axis cut at `cuts` gives, in turn, each with its part of
    the mask by the `mask=` argument; then `reset_states()` and the first batch again.
    [output, *states] of each call, as NumPy arrays (conformance/contract/stateful_reference.py).
    Not cached: a stateful layer's states are what is tested."""
    from conformance.contract.stateful_reference import batches_of

    k, example = runner.keras, example.changed(layer={"return_state": True, "initial_state": False})
    layer = builtin_layer(runner, example.layer, example.spec, example.options, {}, stateful=True)
    batches = batches_of(example, cuts)
    batch, features = example.batch, example.inputs[0].shape[2:]
    if mode == "call":
        def call(part):
            kwargs = {} if part.mask is None else {"mask": runner.to_tensor(part.mask)}
            return layer(runner.to_tensor(part.inputs[0]), **kwargs)
    else:
        x_in = k.Input(batch_shape=(batch, None) + features)
        inputs, kwargs = [x_in], {}
        if example.mask is not None:
            m_in = k.Input(batch_shape=(batch, None), dtype="bool")
            inputs.append(m_in)
            kwargs["mask"] = m_in
        model = k.Model(inputs, layer(x_in, **kwargs))

        def call(part):
            return model.predict_on_batch([part.inputs[0]] + ([] if part.mask is None else [part.mask]))
    if mode == "call":
        layer.build(tuple(example.inputs[0].shape))  # its weights exist before they are set
    runner._set_weights(layer, example)
    returned = [[runner.to_numpy(r) for r in runner.flatten(call(part))] for part in batches]
    layer.reset_states()
    returned.append([runner.to_numpy(r) for r in runner.flatten(call(batches[0]))])
    return returned
