"""Adapter for multi-backend Keras 2.3.1's `keras.backend.theano_backend.rnn` on Theano 1.0.5.

It needs its own environment (Python 3.11 with numpy 1.23.5): the suite creates it on first
use from conformance/requirements/theano.txt and runs this backend's worker there
(conformance/base/environments.py).

One mode, "compiled": the loop is built symbolically and compiled with `theano.function`.
One function is compiled per cell structure, static options (go_backwards, unroll,
input_length) and argument signature (which data are present, their dtypes and ranks);
weights and data are its inputs, every variable has unknown sizes and no broadcastable
dimension, so new weights, new data and new B or T reuse it. Only `unroll=True` pins T,
because Keras 2 unrolls a Python loop over `range(input_length)`.

Keras 2.3.1's `rnn(step_function, inputs, initial_states, go_backwards=False, mask=None,
constants=None, unroll=False, input_length=None)` has no `time_major`,
`zero_output_for_mask` or `return_all_outputs` (contract section 4). Its `unroll=True`
requires `input_length` ("Must be specified if using `unroll`": Theano has no static
time size to read it from). The adapter does not fill it in: at the function level the
contract makes input_length a hint (R12), so that refusal is a finding. Everything is
handed over as the example gives it, and whatever Keras 2 raises is reported as a crash.
"""

from collections import Counter

import numpy as np
import optree

from conformance.backends import grad_theano
from conformance.backends.base import Backend, CompiledCache, Result, counted_call, gradient_mode
from conformance.base.code_versions import keras_is_keras3, of_module
from conformance.base.environments import EnvironmentSpec
from conformance.contract.gradients import weight_parts

STATIC_OPTIONS = ("go_backwards", "unroll", "input_length")
DEFAULTS_OF_MISSING_OPTIONS = {"time_major": False, "zero_output_for_mask": False, "return_all_outputs": True}


class Keras2Theano(Backend):
    name = "keras2-theano"
    description = "multi-backend Keras 2.3.1 keras.backend.theano_backend.rnn on Theano 1.0.5"
    packages = ("theano", "keras")
    extra = None  # not an extra: it needs its own environment, see `environment`
    environment = EnvironmentSpec.from_file("theano", "theano.txt")
    install_note = (
        "Keras 2.3.1 on Theano 1.0.5 needs numpy 1.23.5: rnn-conformance and pytest run it in a managed "
        "environment they create from conformance/requirements/theano.txt (or: tox -e theano)"
    )
    modes = ("compiled",)
    compiled_modes = ("compiled",)
    ops = "theano"
    unsupported_options = tuple(DEFAULTS_OF_MISSING_OPTIONS)
    differentiates = True  # theano.grad through the compiled scan (contract section 5)
    refused_dtypes = {"bfloat16": "Theano 1.0.5 has no bfloat16 (theano.tensor's float types are float16, float32, float64)"}

    def __init__(self):
        self._compiled = CompiledCache()  # the last few compiled functions
        # ("compiled" | "compiled+grad", "traced" | "reused" | "crashed") -> count
        self.compile_stats = Counter()

    def missing_package(self):
        """'theano', or 'keras==2.3.1' where `keras` is Keras 3 (as in the main environment)."""
        missing = Backend.missing_package(self)  # (explicit: the layer row shares this method)
        if missing is not None:
            return missing
        return "keras==2.3.1" if keras_is_keras3() else None

    def run(self, example, mode):
        static, data, weights = self._arguments(example, mode)
        flat_data, data_tree = optree.tree_flatten(data)
        key = self._key(example, static, flat_data, data_tree)
        new = key not in self._compiled

        def compile_and_call():
            # A graph Keras 2 cannot build is not cached: building it again raises from
            # the same place, which Hypothesis needs to replay a failure consistently.
            function, returned_tree = self._compiled.get(
                key, lambda: self._compile(example.structure, static, flat_data, data_tree, weights)
            )
            return optree.tree_unflatten(returned_tree, list(function(*flat_data, *weights)))

        return Result.from_framework(counted_call(self.compile_stats, mode, compile_and_call, lambda _: new))

    def run_with_gradients(self, example, mode, loss_weights):
        """Results and dL/d every differentiated argument from one compiled function per
        configuration (conformance/backends/grad_theano.py), cached next to the forward
        functions under its own key and counted under `gradient_mode(mode)`."""
        static, data, weights = self._arguments(example, mode)
        flat_data, _, data_tree = grad_theano.data_leaves(data)
        flat_loss, loss_tree = optree.tree_flatten(weight_parts(loss_weights))
        loss_signature = (repr(loss_tree), tuple((np.asarray(w).dtype.str, np.ndim(w)) for w in flat_loss))
        key = ("value-and-grad", self._key(example, static, flat_data, data_tree), loss_signature)
        new = key not in self._compiled

        def compile_and_call():
            def build():
                step = lambda weight_vars: self.step_function(example.structure, weight_vars)  # noqa: E731
                return grad_theano.compile_value_and_grad(step, static, data, weights, weight_parts(loss_weights))

            return self._compiled.get(key, build)(flat_data, weights, flat_loss)

        returned, grads = counted_call(self.compile_stats, gradient_mode(mode), compile_and_call, lambda _: new)
        return Result.from_framework(returned), grads

    def _arguments(self, example, mode):
        """(static options, data arguments, cell weights) as Keras 2's `rnn` takes them."""
        if mode != "compiled":
            raise ValueError(f"{self.name} has no mode {mode!r}; modes: {', '.join(self.modes)}")
        arguments = example.call_arguments()
        for option, default in DEFAULTS_OF_MISSING_OPTIONS.items():
            if arguments.pop(option) != default:
                raise ValueError(f"Keras 2.3.1's rnn has no {option!r} option; it can only run with {option}={default}")
        static = {name: arguments.pop(name) for name in STATIC_OPTIONS}
        # Keras 2 refuses unroll=True without input_length; that refusal is a finding
        # (R10, R12), so input_length is passed exactly as the example says, never filled in.
        data = {name: value for name, value in arguments.items() if value is not None}
        return static, data, example.spec.weight_arrays()

    @staticmethod
    def _key(example, static, flat_data, data_tree):
        """What a compiled function depends on: structure, static options, data signature."""
        signature = (repr(data_tree), tuple((a.dtype.str, a.ndim) for a in flat_data))
        return (example.structure, tuple(sorted(static.items())), signature)

    def _compile(self, structure, static, flat_data, data_tree, weights):
        """`theano.function(data leaves + weights) -> flat (last_output, outputs, new_states)`."""
        from conformance.backends import theano_env

        theano_env.prepare()
        import theano
        import theano.tensor as T
        from keras.backend import theano_backend

        def variable(array, name):
            # No broadcastable dimension: B, T and any size may be 1 in a later call.
            return T.TensorType(array.dtype.name, (False,) * array.ndim)(name)

        data_vars = [variable(a, f"data{i}") for i, a in enumerate(flat_data)]
        weight_vars = [variable(w, f"weight{i}") for i, w in enumerate(weights)]
        data = optree.tree_unflatten(data_tree, list(data_vars))
        if "initial_states" in data:
            data["initial_states"] = list(data["initial_states"])  # Keras 2 assigns into this list
        step = self.step_function(structure, weight_vars)
        returned = theano_backend.rnn(step, **data, **static)
        returned = (returned[0], returned[1], list(returned[2]))
        leaves, returned_tree = optree.tree_flatten(returned)
        function = theano.function(data_vars + weight_vars, leaves, on_unused_input="ignore")
        return function, returned_tree

    def code_versions(self):
        """Theano, Keras and the numpy 1.23 they need, as this environment imports them
        (prepared first: Keras 2 imported without KERAS_BACKEND=theano looks for TensorFlow)."""
        from conformance.backends import theano_env

        theano_env.prepare()
        return [found for found in map(of_module, (*self.packages, "numpy")) if found is not None]
