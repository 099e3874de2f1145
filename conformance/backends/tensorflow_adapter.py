"""Adapter for any TensorFlow implementation of the `rnn` signature, in three modes.

- "eager": called directly, op by op.
- "function": inside `tf.function`.
- "xla": inside `tf.function(jit_compile=True)`.

Compiled modes keep one traced function per cell structure and static options (the
last few of them: base.CompiledCache); weights
and data are its arguments, and batch and time sizes are left unknown (`None`) in the
signature, so new weights, new data and new B or T reuse the same trace. Only
`unroll=True` pins T, because an unrolled loop needs to know it.

A call counts as "traced" when TensorFlow ran the Python function (a side effect inside
it counts), not merely when the cache missed, and as "crashed" when it raised: a failed
trace is not kept, and is traced again. XLA also compiles once per concrete shape;
siblings (cells/resample.py) keep the shapes of their example, so they reuse that
compilation as well.
"""

import importlib
from collections import Counter

from conformance.backends.base import Backend, CompiledCache, Result, TraceCounter, static_options_and_data


class TensorFlowBackend(Backend):
    packages = ("tensorflow",)
    extra = "tensorflow"
    modes = ("eager", "function", "xla")
    compiled_modes = ("function", "xla")
    ops = "tensorflow"
    rnn_path = None  # "module:function" of the implementation under test

    def __init__(self):
        self._compiled = CompiledCache()
        self._traces = TraceCounter()
        self.compile_stats = Counter()  # (mode, "traced" | "reused" | "crashed") -> count

    def rnn(self):
        module, function = self.rnn_path.split(":")
        return getattr(importlib.import_module(module), function)

    def run(self, example, mode):
        import tensorflow as tf

        static, data = static_options_and_data(example)
        data = tf.nest.map_structure(tf.convert_to_tensor, data)
        weights = [tf.convert_to_tensor(w) for w in example.spec.weight_arrays()]
        if mode == "eager":
            returned = self._loop(example.structure, static)(data, weights)
        else:
            compiled = self._compiled_loop(example, mode, static, data, weights)
            returned = self._traces.call(self.compile_stats, mode, lambda: compiled(data, weights))
        return Result.from_framework(returned, to_numpy=lambda t: t.numpy())

    def _loop(self, structure, static):
        """`loop(data, weights)`: build the step from weight tensors and run the loop."""
        rnn = self.rnn()

        def loop(data, weights):
            return rnn(self.step_function(structure, weights), **data, **static)

        return loop

    def _compiled_loop(self, example, mode, static, data, weights):
        import tensorflow as tf

        def spec(t, pin_time=False):
            """(B, T, ...) or (T, B, ...) with B and T unknown, T pinned for unroll."""
            shape = [None, None] + t.shape[2:].as_list()
            if pin_time:
                time_axis = 0 if static["time_major"] else 1
                shape[time_axis] = t.shape[time_axis]
            return tf.TensorSpec(shape, t.dtype)

        def per_sample_spec(t):
            return tf.TensorSpec([None] + t.shape[1:].as_list(), t.dtype)

        signature = {}
        for name, value in data.items():
            if name in ("inputs", "mask"):
                signature[name] = tf.nest.map_structure(lambda t: spec(t, static["unroll"]), value)
            else:
                signature[name] = tf.nest.map_structure(per_sample_spec, value)
        weight_specs = [tf.TensorSpec(w.shape, w.dtype) for w in weights]
        key = (mode, example.structure, tuple(sorted(static.items())), repr(signature))
        return self._compiled.get(key, lambda: tf.function(
            self._traces.counting(self._loop(example.structure, static)),
            input_signature=[signature, weight_specs],
            jit_compile=(mode == "xla"),
        ))


class FixedTensorFlow(TensorFlowBackend):
    name = "fixed-tensorflow"
    description = "the project's own TensorFlow 2 rnn, written to the contract"
    rnn_path = "conformance.impls.fixed_tensorflow:rnn"


class TensorFlow2018(TensorFlowBackend):
    name = "tensorflow-2018"
    description = "known-bad: the 2018 loop of keras-team/keras#11472 (masked output from states[0])"
    rnn_path = "conformance.impls.tensorflow_2018:rnn"
    run_by_default = False
