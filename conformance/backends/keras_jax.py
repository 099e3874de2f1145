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
"""

from collections import Counter

import numpy as np

from conformance.backends.base import Backend, CompiledCache, Result, TraceCounter, static_options_and_data



class KerasJax(Backend):
    """Keras 3's own JAX loop (lax.scan, or a Python loop when unrolled), eager and jitted."""

    name = "keras-jax"
    description = "Keras 3 keras.src.backend.jax.rnn.rnn"
    packages = ("keras", "jax")
    extra = "keras"
    modes = ("eager", "jit")
    compiled_modes = ("jit",)
    ops = "jax"

    def __init__(self):
        self._compiled = CompiledCache()  # the last few jitted functions
        self._traces = TraceCounter()
        self.compile_stats = Counter()  # (mode, "traced" | "reused" | "crashed") -> count

    def run(self, example, mode):
        import jax
        import jax.numpy as jnp

        # float64 examples need 64-bit JAX; without it jnp silently computes in float32.
        # Set on first use, not at import, so merely listing backends changes nothing.
        jax.config.update("jax_enable_x64", True)
        static, data = static_options_and_data(example)
        data = jax.tree_util.tree_map(jnp.asarray, data)
        weights = [jnp.asarray(w) for w in example.spec.weight_arrays()]
        if mode == "eager":
            returned = self._loop(example.structure, static)(data, weights)
        else:
            returned = self._jitted_call(example, static, data, weights)
        return Result.from_framework(returned, to_numpy=np.asarray)

    def _loop(self, structure, static):
        from keras.src.backend.jax.rnn import rnn

        def loop(data, weights):
            return rnn(self.step_function(structure, weights), **data, **static)

        return loop

    def _jitted_call(self, example, static, data, weights):
        import jax

        leaves, treedef = jax.tree_util.tree_flatten(data)
        signature = (str(treedef), tuple((str(x.dtype), x.ndim) for x in leaves))
        key = (example.structure, tuple(sorted(static.items())), signature)
        jitted = self._compiled.get(key, lambda: jax.jit(self._traces.counting(self._loop(example.structure, static))))
        return self._traces.call(self.compile_stats, "jit", lambda: jitted(data, weights))
