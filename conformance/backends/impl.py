"""A third-party `rnn` under test: any function with the Keras backend `rnn` signature
(CONTRACT.md section 1), named on the command line as `--impl MODULE:FUNC`.

This is how a backend author gates a change: the suite calls their function with every
drawn cell's step function over the array library their loop works in (`--impl-ops`:
numpy, tensorflow, jax or torch) and the data as that library's arrays, and compares what
comes back with the reference, like any other backend. The function runs in a worker
process of its own (conformance/backends/impl_side.py): the process that judges it never
imports it, so nothing the module does at import or in a call can change the judge.

With `--impl-ops tensorflow`, `jax` or `torch` it also differentiates (CONTRACT.md section
5): L and its gradients are formed by the same `grad_*` module the framework's own rows
use, so only the author's loop differs. NumPy loops have no autodiff: their gradient
properties are "not applicable".
"""

import importlib
import os
import sys

import numpy as np
import optree

from conformance.backends import interrupts
from conformance.backends.base import DATA_ARGUMENTS, Backend, Result, shared_torch_tensor, torch_to_numpy
from conformance.backends.layer_worker.client import Worker, WorkerCrash, WorkerFailure
from conformance.contract.gradients import DIFFERENTIATED, Gradients
from conformance.base.usage import suite_package_clash

IMPL_OPS = ("numpy", "tensorflow", "jax", "torch")
# The array libraries with autodiff, each with its value-and-grad module (G1).
GRADIENT_MODULES = {"tensorflow": "grad_tensorflow", "jax": "grad_jax", "torch": "grad_torch"}
IMPL_PREFIX = "impl:"


# What the worker that runs the loop is told (conformance/backends/impl_side.py).
TARGET, OPS, SEARCH_PATH = "RNN_CONFORMANCE_IMPL", "RNN_CONFORMANCE_IMPL_OPS", "RNN_CONFORMANCE_IMPL_PATH"


def argument_arrays(example):
    """The example's own arrays a loop is handed (R13 watches them), in one order."""
    return optree.tree_leaves([list(example.inputs), list(example.initial_states), list(example.constants),
                               [example.mask] if example.mask is not None else []])


_WORKERS = {}  # (target, ops, import path) -> the Worker that runs that loop


class ImplError(ValueError):
    """`--impl` or `--impl-ops` cannot be used (a usage error, reported in one line)."""


def _converters(ops):
    """(to the library's arrays, back to NumPy) for one array library.

    NumPy and torch get the example's own memory (the arrays themselves; torch.from_numpy
    shares it), so a loop that writes into its arguments is caught (R13). TensorFlow and
    JAX tensors are immutable copies: a loop cannot write into them.
    """
    if ops == "tensorflow":
        import tensorflow as tf

        return tf.convert_to_tensor, lambda t: np.asarray(t)
    if ops == "jax":
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)  # float64 examples stay float64

        return jnp.asarray, np.asarray
    if ops == "torch":
        return shared_torch_tensor, torch_to_numpy
    return (lambda x: x), np.asarray


class ImplBackend(Backend):
    """`module:function` called eagerly with step functions over `ops`."""

    modes = ("eager",)
    extra = None
    run_by_default = False  # tested when asked for with --impl

    def __init__(self, impl_target, ops="numpy", isolated=True):
        module_name, _, function_name = impl_target.partition(":")
        if not module_name or not function_name:
            raise ImplError(f"--impl needs MODULE:FUNCTION, got {impl_target!r}")
        clash = suite_package_clash("--impl", impl_target, module_name)  # (its import would find the suite's)
        if clash:
            raise ImplError(clash)
        if ops not in IMPL_OPS:
            raise ImplError(f"--impl-ops must be one of {', '.join(IMPL_OPS)}, got {ops!r}")
        self.impl_target, self.ops = impl_target, ops
        self.cheap_modes = ("eager",) if ops == "numpy" else ()  # a NumPy loop, as the reference's
        self.name = IMPL_PREFIX + impl_target
        self.description = f"third-party rnn {impl_target} (step functions over {ops})"
        self.packages = (ops,)
        self.differentiates = ops in GRADIENT_MODULES
        self.module_name, self.function_name = module_name, function_name
        self._function = None  # imported on first use: constructing this imports nothing
        # isolated: run in a worker (the judge's side); False: the worker's own, which imports the module
        self.isolated, self._worker, self._version = isolated, None, None
        self.search_path = os.getcwd()  # where the module is imported from, as `python -m` would
        self.import_path = os.pathsep.join([self.search_path, *map(str, sys.path)])  # and what else this process sees

    @property
    def function(self):
        """The user's function, imported on first use (ImplError when it cannot be); only
        where the loop runs (not isolated)."""
        if self.isolated:
            raise RuntimeError("an isolated --impl row never imports the module in the judging process")
        if self._function is None:
            self._function = _import(self.module_name, self.function_name)
        return self._function

    def load(self):
        """Import the user's module now, where it runs; raises ImplError (one line) when unusable."""
        if not self.isolated:
            return self.function
        try:
            self._version = self._started_worker().request("describe")["version"]
        except WorkerCrash as error:
            raise ImplError(error.crash_text.removeprefix("ImplError: ")) from None
        except WorkerFailure as error:
            raise ImplError(f"--impl {self.impl_target}: {error}") from None
        return None

    def version(self):
        if self.isolated:
            if self._version is None:
                self.load()
            return self._version
        module = sys.modules.get(self.module_name) or importlib.import_module(self.module_name)
        return f"{self.impl_target} {getattr(module, '__version__', '(no __version__)')}, ops {self.ops}"

    def _started_worker(self):
        """The worker of this loop: one per loop, array library and import path in this
        process, however many backends name it (starting one imports a framework)."""
        if self._worker is None:
            key = (self.impl_target, self.ops, self.import_path)
            if key not in _WORKERS:
                _WORKERS[key] = Worker("impl", {TARGET: self.impl_target, OPS: self.ops, SEARCH_PATH: self.import_path},
                                       cwd=self.search_path)
            self._worker = _WORKERS[key]
        return self._worker

    def _remote(self, example, *request):
        """An answer of the worker; the argument arrays it changed are written into the
        example's own, so a loop that writes into its arguments is seen (R13)."""
        (answer, changed), _counts = self._started_worker().request(*request)
        if changed is not None:
            for own, now in zip(argument_arrays(example), changed):
                np.copyto(own, now)
        return answer

    def run(self, example, mode):
        if self.isolated:
            return self._remote(example, "run", example, mode)
        function = self.function
        to_array, to_numpy = _converters(self.ops)
        arguments = example.call_arguments()
        for name in ("inputs", "initial_states", "mask", "constants"):
            if arguments[name] is not None:
                arguments[name] = optree.tree_map(to_array, arguments[name])
        weights = [to_array(w) for w in example.spec.weight_arrays()]
        with np.errstate(all="ignore"):  # NaN and inf at masked steps are legitimate inputs (R9)
            returned = function(self.step_function(example.structure, weights), **arguments)
        return Result.from_framework(returned, to_numpy=to_numpy)

    def run_with_gradients(self, example, mode, loss_weights):
        """The forward call above (the same arguments), L and its gradients by the ops'
        `grad_*` module, eagerly."""
        if not self.differentiates:
            return super().run_with_gradients(example, mode, loss_weights)
        if self.isolated:
            return self._remote(example, "impl_gradients", example, mode, loss_weights)
        function = self.function
        grad = importlib.import_module(f"conformance.backends.{GRADIENT_MODULES[self.ops]}")
        to_array, to_numpy = _converters(self.ops)
        options = example.call_arguments()
        data = {name: options.pop(name) for name in DATA_ARGUMENTS}
        data = {name: None if value is None else optree.tree_map(to_array, value) for name, value in data.items()}
        weights = [to_array(w) for w in example.spec.weight_arrays()]

        def loop(data, weights):
            return function(self.step_function(example.structure, weights), **data, **options)

        with np.errstate(all="ignore"):  # NaN and inf at masked steps are legitimate inputs (R9)
            returned, grads = grad.value_and_grad(loop, data, weights, loss_weights)
        gradients = Gradients(**{part: tuple(to_numpy(g) for g in grads[part]) for part in DIFFERENTIATED})
        return Result.from_framework(returned, to_numpy=to_numpy), gradients


def _import(module_name, function_name):
    """The function, imported as `python -c "import MODULE"` would from here: the current
    directory comes first, as it does for `python -m` (console scripts lack it)."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    where = f"--impl {module_name}:{function_name}"
    sigints = interrupts.watch()
    try:
        module = importlib.import_module(module_name)
    except SystemExit as error:
        raise ImplError(f"{where}: {module_name} called sys.exit({error.code!r}) at import") from None
    except BaseException as error:  # noqa: BLE001 - any import failure is the user's to fix
        if not interrupts.raised_by_backend(error, sigints):
            raise  # a real Ctrl-C while importing
        message = " ".join(str(error).split())
        raise ImplError(f"{where}: cannot import {module_name}: {type(error).__name__}" + (f": {message}" if message else "")) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ImplError(f"--impl {module_name}:{function_name}: {module_name} has no function {function_name!r}")
    return function
