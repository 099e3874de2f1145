"""Adapter for Keras 3's JAX `rnn` (`keras.src.backend.jax.rnn.rnn`), eager and under `jax.jit`.

Keras 3 backend modules import side by side whatever KERAS_BACKEND says, so this runs in
the same process as every other backend.

- "eager": `rnn` called directly on `jnp` arrays.
- "jit": one `jax.jit` function `(data, weights) -> rnn(...)` per cell structure, static
  options and data signature (which data arguments are present, their pytree structure,
  dtypes and ranks). Static options are closed over; weights and data are arguments. JAX
  still retraces the same jitted function for new shapes (new B or T); a Python side
  effect inside the traced function counts every real trace, so a call is "traced" when
  JAX traced it, "reused" only when JAX ran a cached trace, "crashed" when it raised.

Gradients (CONTRACT.md section 5): "eager" calls `grad_jax.value_and_grad` directly;
"jit" jits one value-and-grad function per configuration (the forward key, marked as the
gradient's, in the same cache), loss weights among its arguments, counted under
`gradient_mode("jit")`, so gradient properties and siblings reuse its traces.
"""

from collections import Counter

import numpy as np

from conformance.backends.base import Backend, CompiledCache, Result, TraceCounter, gradient_mode, static_options_and_data
from conformance.contract.gradients import weight_parts


class KerasJax(Backend):
    """Keras 3's own JAX loop (lax.scan, or a Python loop when unrolled), eager and jitted."""

    name = "keras-jax"
    description = "Keras 3 keras.src.backend.jax.rnn.rnn"
    packages = ("keras", "jax")
    extra = "keras"
    modes = ("eager", "jit")
    compiled_modes = ("jit",)
    ops = "jax"
    differentiates = True  # jax.value_and_grad, eager and jitted

    def __init__(self):
        self._compiled = CompiledCache()  # the last few jitted functions
        self._traces = TraceCounter()
        self.compile_stats = Counter()  # (mode, "traced" | "reused" | "crashed") -> count

    def run(self, example, mode):
        static, data, weights = self._arguments(example)
        if mode == "eager":
            returned = self._loop(example.structure, static)(data, weights)
        else:
            returned = self._jitted_call(example, static, data, weights)
        return Result.from_framework(returned, to_numpy=np.asarray)

    def run_with_gradients(self, example, mode, loss_weights):
        import jax
        import jax.numpy as jnp

        from conformance.backends import grad_jax

        static, data, weights = self._arguments(example)
        parts = jax.tree_util.tree_map(jnp.asarray, weight_parts(loss_weights))
        if mode == "eager":
            returned, grads = grad_jax.value_and_grad(self._loop(example.structure, static), data, weights, parts)
        else:
            returned, grads = self._jitted_gradient_call(example, static, data, weights, parts)
        return Result.from_framework(returned, to_numpy=np.asarray), grad_jax.as_gradients(grads)

    def _arguments(self, example):
        """(static options, data as jnp arrays, weights as jnp arrays) of the example."""
        import jax
        import jax.numpy as jnp

        # float64 examples need 64-bit JAX; without it jnp silently computes in float32.
        # Set on first use, not at import, so merely listing backends changes nothing.
        jax.config.update("jax_enable_x64", True)
        static, data = static_options_and_data(example)
        data = jax.tree_util.tree_map(jnp.asarray, data)
        return static, data, [jnp.asarray(w) for w in example.spec.weight_arrays()]

    def _loop(self, structure, static):
        from keras.src.backend.jax.rnn import rnn

        def loop(data, weights):
            return rnn(self.step_function(structure, weights), **data, **static)

        return loop

    def _jitted_call(self, example, static, data, weights):
        import jax

        key = _key(example, static, data)
        jitted = self._compiled.get(key, lambda: jax.jit(self._traces.counting(self._loop(example.structure, static))))
        return self._traces.call(self.compile_stats, "jit", lambda: jitted(data, weights))

    def _jitted_gradient_call(self, example, static, data, weights, parts):
        """One jitted value-and-grad per configuration: the forward key marked as the
        gradient's; data and loss weights travel together as its first argument."""
        import jax

        from conformance.backends import grad_jax

        loop = self._loop(example.structure, static)

        def value_and_grad(arguments, weights):
            data, parts = arguments
            return grad_jax.value_and_grad(loop, data, weights, parts)

        key = _key(example, static, data) + ("value-and-grad",)
        jitted = self._compiled.get(key, lambda: jax.jit(self._traces.counting(value_and_grad)))
        return self._traces.call(self.compile_stats, gradient_mode("jit"), lambda: jitted((data, parts), weights))


def _key(example, static, data):
    """A jitted function's cache key: cell structure, static options and data signature
    (which data arguments are present, their pytree structure, dtypes and ranks)."""
    import jax

    leaves, treedef = jax.tree_util.tree_flatten(data)
    signature = (str(treedef), tuple((str(x.dtype), x.ndim) for x in leaves))
    return (example.structure, tuple(sorted(static.items())), signature)
