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

Gradients (CONTRACT.md section 5): `run_with_gradients` differentiates L with a
GradientTape (conformance/backends/grad_tensorflow.py). Compiled modes build one more
function per configuration, next to the forward one in the same cache: it returns the
results and the gradients together (value-and-grad, the tape inside the compiled
function), with the loss weights as arguments whose batch and time sizes are unknown too,
so siblings reuse it; it is counted under `gradient_mode(mode)`.
"""

import importlib
from collections import Counter

from conformance.backends.base import Backend, CompiledCache, Result, TraceCounter, gradient_mode, static_options_and_data
from conformance.contract.gradients import DIFFERENTIATED, Gradients, weight_parts


class TensorFlowBackend(Backend):
    packages = ("tensorflow",)
    extra = "tensorflow"
    modes = ("eager", "function", "xla")
    compiled_modes = ("function", "xla")
    ops = "tensorflow"
    differentiates = True
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

    def run_with_gradients(self, example, mode, loss_weights):
        import tensorflow as tf

        from conformance.backends.grad_tensorflow import value_and_grad

        static, data = static_options_and_data(example)
        data = tf.nest.map_structure(tf.convert_to_tensor, data)
        weights = [tf.convert_to_tensor(w) for w in example.spec.weight_arrays()]
        parts = tf.nest.map_structure(tf.convert_to_tensor, weight_parts(loss_weights))
        loop = self._loop(example.structure, static)
        if mode == "eager":
            returned, grads = value_and_grad(loop, data, weights, parts)
        else:
            compiled = self._compiled_gradient(example, mode, static, data, weights, parts)
            returned, grads = self._traces.call(self.compile_stats, gradient_mode(mode), lambda: compiled(data, (weights, parts)))
        to_numpy = lambda t: t.numpy()  # noqa: E731
        gradients = Gradients(**{part: tuple(to_numpy(g) for g in grads[part]) for part in DIFFERENTIATED})
        return Result.from_framework(returned, to_numpy=to_numpy), gradients

    def _compiled_gradient(self, example, mode, static, data, weights, parts):
        """The value-and-grad function of one configuration: `f(data, (weights, loss
        weight parts)) -> (returned, grads)`, kept next to the forward one (key "grad")."""
        import tensorflow as tf

        from conformance.backends.grad_tensorflow import value_and_grad

        signature, weight_specs = self._signature(static, data, weights)
        # Loss weights are shaped as the results: B unknown, and T in `outputs`, like the data.
        def unknown(t, leading):
            return tf.TensorSpec([None] * leading + t.shape[leading:].as_list(), t.dtype)

        last_output, outputs, new_states = parts
        parts_spec = tuple(tf.nest.map_structure(lambda t, n=n: unknown(t, n), part) for part, n in ((last_output, 1), (outputs, 2), (new_states, 1)))
        loop = self._loop(example.structure, static)
        key = ("grad", mode, example.structure, tuple(sorted(static.items())), repr((signature, parts_spec)))
        return self._compiled.get(key, lambda: tf.function(
            self._traces.counting(lambda data, arguments: value_and_grad(loop, data, *arguments)),
            input_signature=[signature, (weight_specs, parts_spec)],
            jit_compile=(mode == "xla"),
        ))

    def _loop(self, structure, static):
        """`loop(data, weights)`: build the step from weight tensors and run the loop."""
        rnn = self.rnn()

        def loop(data, weights):
            return rnn(self.step_function(structure, weights), **data, **static)

        return loop

    def _compiled_loop(self, example, mode, static, data, weights):
        import tensorflow as tf

        signature, weight_specs = self._signature(static, data, weights)
        key = (mode, example.structure, tuple(sorted(static.items())), repr(signature))
        return self._compiled.get(key, lambda: tf.function(
            self._traces.counting(self._loop(example.structure, static)),
            input_signature=[signature, weight_specs],
            jit_compile=(mode == "xla"),
        ))

    @staticmethod
    def _signature(static, data, weights):
        """Input signatures of the data (B and T unknown; T pinned for unroll) and weights."""
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
        return signature, weight_specs


class FixedTensorFlow(TensorFlowBackend):
    name = "fixed-tensorflow"
    description = "the project's own TensorFlow 2 rnn, written to the contract"
    rnn_path = "conformance.impls.fixed_tensorflow:rnn"


class TensorFlow2018(TensorFlowBackend):
    name = "tensorflow-2018"
    description = "known-bad: the 2018 loop of keras-team/keras#11472 (masked output from states[0])"
    rnn_path = "conformance.impls.tensorflow_2018:rnn"
    run_by_default = False
