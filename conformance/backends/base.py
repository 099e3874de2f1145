"""The small interface every backend adapter implements.

An adapter knows whether its framework is installed, its version, its execution modes,
and how to run one `Example` in one mode. It returns plain NumPy results, so the
comparison code never touches a framework. It never looks at the reference.
"""

import importlib.util
from collections import OrderedDict

import numpy as np

from cells.build import make_step
from cells.dtypes import numpy_dtype
from cells.ops import get_ops
from conformance.base.code_versions import module_of, of_module
from conformance.contract.values import Result  # noqa: F401 - where backends and their users have always found it


STATIC_OPTIONS = ("go_backwards", "unroll", "input_length", "time_major", "zero_output_for_mask", "return_all_outputs")
DATA_ARGUMENTS = ("inputs", "initial_states", "mask", "constants")


def static_options_and_data(example):
    """The example's `rnn` keyword arguments split in two, as compiled modes need them:
    Python-level options (part of a compiled function's cache key) and the NumPy data
    that are its arguments (absent ones left out)."""
    arguments = example.call_arguments()
    static = {name: arguments[name] for name in STATIC_OPTIONS}
    data = {name: arguments[name] for name in DATA_ARGUMENTS if arguments[name] is not None}
    return static, data


def counted_call(stats, mode, call, traced):
    """`call()`, counted in `stats` (mode, outcome): "traced" when `traced(returned)` says
    it built a new function, "reused" when it ran one built before, "crashed" when it raised. A
    crash compiles nothing to reuse (frameworks keep no failed trace), so the share of
    reuse is taken over the calls that returned."""
    try:
        returned = call()
    except Exception:
        stats[mode, "crashed"] += 1
        raise
    stats[mode, "traced" if traced(returned) else "reused"] += 1
    return returned


def shared_torch_tensor(array):
    """A CPU tensor on the array's own memory (R13: writes into it reach the example);
    a copy only where torch cannot share it (negative strides). torch reads no
    ml_dtypes array: a bfloat16 one is handed over as its 16-bit patterns, viewed back."""
    import torch

    if str(array.dtype) == "bfloat16":
        return shared_torch_tensor(array.view(np.int16)).view(torch.bfloat16)
    try:
        return torch.from_numpy(array)
    except ValueError:
        return torch.from_numpy(np.array(array, copy=True))


def torch_to_numpy(tensor):
    """A tensor's values as NumPy; bfloat16 as ml_dtypes' bfloat16 (torch's .numpy()
    refuses it)."""
    import torch

    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(numpy_dtype("bfloat16"))
    return tensor.numpy()


# Compiled functions an adapter keeps (per backend, all modes together). A compiled
# function is reused by the siblings of the example that traced it and by the variants a
# metamorphic property runs next to it, all within a few calls; keeping every
# configuration ever seen grew a keras-tensorflow worker to 7.5 GiB in 40 minutes.
COMPILED_CACHE_SIZE = 16


class CompiledCache:
    """The last `size` compiled functions by key; the least recently used goes first."""

    def __init__(self, size=COMPILED_CACHE_SIZE):
        self.size, self._functions = size, OrderedDict()

    def __contains__(self, key):
        return key in self._functions

    def __len__(self):
        return len(self._functions)

    def clear(self):
        self._functions.clear()

    def get(self, key, build):
        """The function kept under `key`, or `build()` kept there (not kept if it raises)."""
        if key in self._functions:
            self._functions.move_to_end(key)
            return self._functions[key]
        function = self._functions[key] = build()
        if len(self._functions) > self.size:
            self._functions.popitem(last=False)
        return function


class TraceCounter:
    """Counts real traces: `counting(loop)` is `loop` with a Python side effect that runs
    only while the framework (tf.function, jax.jit) traces it, so `call` can tell a new
    trace from a cached one, not merely a cache miss of our own."""

    def __init__(self):
        self.traces = 0

    def counting(self, loop):
        def traced(data, weights):
            self.traces += 1
            return loop(data, weights)

        return traced

    def call(self, stats, mode, call):
        """`call()` counted by `counted_call`: "traced" when it traced."""
        before = self.traces
        return counted_call(stats, mode, call, lambda _: self.traces > before)


# The levels whose rows run a Keras layer in a worker (their reproducers are layer scripts):
# the custom-cell layer rows and the built-in layer rows (issue 41).
LAYER_LEVELS = ("layer", "builtin")

class Backend:
    """One implementation under test. Subclasses set the class attributes and `run`."""

    name = None
    description = ""
    level = "function"  # or "layer", "builtin": which properties run on it (contract section 1 or 2; issue 41)
    packages = ()  # modules that must be importable, e.g. ("tensorflow",)
    also_reported = ()  # modules whose code is reported where importable (a pluggable backend: keras_openvino)
    extra = None  # the pip extra of rnn-conformance that installs them
    install_note = None  # how to install it, where an extra is not enough
    modes = ("eager",)
    compiled_modes = ()  # modes that trace or compile a function and reuse it (siblings run there)
    # Modes whose examples cost milliseconds: 50 examples/s or more in the default run
    # (docs/measurements.md). The named profiles draw more examples there (conformance/base/budgets.py).
    cheap_modes = ()
    ops = "numpy"  # the ops namespace its step functions are built with
    run_by_default = True  # False for known-bad implementations kept for self-tests
    # Areas of the matrix no example of this backend can reach, whatever its options (the
    # built-in Theano row: rank>2, every ConvLSTM being not applicable there): not required
    # of its properties' samples (conformance/judge/coverage.py), not vouched for by a pass.
    unreachable_areas = ()
    # Options (fields of cells.example.Options) this API lacks, e.g. Keras 2 has no
    # "time_major", "zero_output_for_mask" or "return_all_outputs" (contract section 4).
    unsupported_options = ()
    # Whether `run_with_gradients` is implemented (contract section 5). A backend without
    # autodiff (keras-numpy) has its gradient properties "not applicable" (section 4).
    differentiates = False
    # Dtypes the backend cannot run, each with the reason (CONTRACT.md section 3): their
    # examples are not drawn for it, and a low-precision property it can run in neither
    # float16 nor bfloat16 is "not applicable" with these reasons.
    refused_dtypes = {}
    # A layer row's dtype policies (issue 40; cells.layer_example.DTYPE_POLICIES but
    # float32), and those it refuses, each with the reason: none means its API has no
    # policy, and the policy properties are "not applicable" there with `policies_note`.
    dtype_policies = ()
    refused_policies = {}
    policies_note = "not a layer row: a dtype policy is a Keras layer's"
    # An environments.EnvironmentSpec where the backend cannot live in the main environment
    # (Keras 2 on Theano needs numpy 1.23): its worker then runs there (conformance/base/environments.py).
    environment = None

    def refusals(self):
        """"; not applicable: <dtype> (<reason>); ..." for the dtypes and policies this
        backend refuses (section 3), or "": what its rows' output says beside its modes."""
        refused = {**self.refused_dtypes, **self.refused_policies}
        return "; not applicable: " + "; ".join(f"{name} ({why})" for name, why in refused.items()) if refused else ""

    def runs_in_environment(self):
        """True where this process cannot run the backend but its managed environment can."""
        return self.environment is not None and self.missing_package() is not None

    def missing_package(self):
        """The first required package that cannot be imported, or None when installed."""
        for module in self.packages:
            if importlib.util.find_spec(module) is None:
                return module
        return None

    def code_versions(self):
        """What each of `packages` says of itself where this backend's calls run
        (conformance/base/code_versions.py): the module's own version and path, not the
        installed metadata. Imported here; a row whose calls run in a worker asks it."""
        return [found for found in map(of_module, (*self.packages, *self.also_reported)) if found is not None]

    def code_version(self, package):
        """The CodeVersion of one package as this backend's code sees it (None: not
        importable): what a declared divergence's version range is tested against."""
        module = module_of(package)
        if module in self.packages:
            return next((found for found in self.code_versions() if found.module == module), None)
        return of_module(module)

    def version(self):
        return ", ".join(found.text() for found in self.code_versions()) or "n/a"

    def step_function(self, structure, weights):
        """A cell structure as a step function in this backend's ops, over `weights`."""
        return make_step(structure, get_ops(self.ops), weights)

    def forget_compiled(self):
        """Drop the compiled functions kept for reuse, so the next call traces and compiles
        afresh: a replay's fresh attempt at a divergence that shows only sometimes
        (known_divergences.toml, `attempts`): the `_compiled` cache of an adapter that
        compiles in this process, and what the worker of one that compiles there keeps."""
        compiled = getattr(self, "_compiled", None)
        if compiled is not None:
            compiled.clear()
        worker = getattr(self, "_worker", None)
        if worker is not None:
            worker.request("forget")

    def tensorflow_threads(self, threads):
        """A context whose calls run where TensorFlow has `threads` inter- and intra-op
        threads (known_divergences.toml, `tensorflow_threads`): only a backend whose calls
        run in a worker process can start one so; the others refuse."""
        raise ValueError(f"{self.name} runs in this process, where TensorFlow's threads are fixed once it starts: "
                         "tensorflow_threads is for a row whose calls run in a worker")

    def run(self, example, mode):
        """Run `rnn` on the example in one execution mode; return a `Result`."""
        raise NotImplementedError

    def run_with_gradients(self, example, mode, loss_weights):
        """Run `rnn` and differentiate L (conformance/contract/gradients.py) in one go; return
        `(Result, Gradients)`.

        `loss_weights` is a Result of NumPy arrays (`gradients.loss_weights`): L is the sum
        over `gradients.loss_pairs` of `sum(weight * leaf)`, computed in the backend's own
        library. Differentiated: every input leaf (as passed, so time-major when the
        example is), every initial state, every constant, every cell weight. The mask is
        not. A source the loss does not depend on gets zeros. Compiled modes compute the
        results and the gradients in one compiled function per configuration (weights,
        data and loss weights its arguments), counted in `compile_stats` under
        `gradient_mode(mode)`. Nothing is sanitised: NaN at masked steps go in as they are.
        """
        raise NotImplementedError(f"{self.name} does not differentiate")


def gradient_mode(mode):
    """The `compile_stats` mode under which a mode's value-and-grad functions are counted."""
    return f"{mode}+grad"
