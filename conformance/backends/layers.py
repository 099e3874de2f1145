"""Adapters for the `RNN` layer rows: one per Keras and Keras backend (contract section 2).

Each runs its examples in a worker process (conformance/backends/layer_worker/worker.py),
started with the KERAS_BACKEND it needs and shared by the rows of that Keras in the process
(`shared_worker`), so one pytest process covers every Keras: the layer code never runs in
the suite's process. The properties of conformance/properties/test_layer.py
run on these; the function-level properties run on the other backends.

Modes: "call" (the layer called directly, eagerly) and "predict" (a functional `Model`
through `model.predict_on_batch`). Keras 2 on Theano has no eager call: "predict" only.
"""

from collections import Counter
from contextlib import contextmanager

import numpy as np

from cells.layer_example import DTYPE_POLICIES
from conformance.backends.base import Backend, Result, counted_call, gradient_mode
from conformance.backends.keras2_theano import Keras2Theano
from conformance.base.code_versions import asked_of, keras_is_keras3
from conformance.backends.layer_worker.client import Worker

KERAS3_BACKEND_PACKAGE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": None, "openvino": "openvino"}
# Keras 3 backends without autodiff: their gradient properties are not applicable (contract section 4).
NO_AUTODIFF = ("numpy", "openvino")
# Keras 3 backends whose predict function is compiled (OpenVINO compiles an ov.Model per input shape).
COMPILED_PREDICT = ("tensorflow", "jax", "openvino")
# The worker of each Keras and Keras backend in this process, however many rows use it: a
# layer row and its built-in row (issue 41) run the same Keras, and a worker holds 0.3-3 GB
# (the pytest session of the suite's own tests started forty of them, 23 GB, before these
# were shared).
_WORKERS = {}


def shared_worker(flavor, environment):
    """The worker of `flavor` under `environment` in this process (started on first use),
    with `described`, its answer to ("describe",), and `built`, the layers it had built by
    its last answer (each row counts its own traces from the difference)."""
    key = (flavor, tuple(sorted(environment.items())))
    if key not in _WORKERS:
        _WORKERS[key] = described_worker(flavor, environment)
    return _WORKERS[key]


def described_worker(flavor, environment):
    """A new worker, started, with `described` and `built` (see shared_worker)."""
    worker = Worker(flavor, environment)
    worker.described, worker.built = worker.request("describe"), 0
    return worker


class LayerBackend(Backend):
    level = "layer"
    dtype_policies = DTYPE_POLICIES[1:]  # Keras 3's keras.DTypePolicy names, tf_keras' mixed_precision.Policy
    modes = ("call", "predict")
    compiled_modes = ("predict",)  # the predict function is traced (tf.function, jax.jit, Theano)

    def __init__(self):
        self._worker = None
        self._threads = {}  # TensorFlow's thread counts for the worker, while tensorflow_threads holds
        # (mode, "traced" | "reused" | "crashed"): whether the worker built a new layer or
        # model for an example or reused a cached one (Keras may still retrace a reused
        # model), or the example crashed.
        self.compile_stats = Counter()
        self._code = None  # code_versions, once asked

    def worker_environment(self):
        return {}

    def code_versions(self):
        """The packages as the worker imported them (the suite's process need not import
        Keras at all): asked once, the first time, starting the worker if needed."""
        if self._code is None:
            self._code = asked_of(self._started_worker(), (*self.packages, *self.also_reported))
        return self._code

    def run(self, example, mode):
        if mode not in self.modes:
            raise ValueError(f"{self.name} has no mode {mode!r}; modes: {', '.join(self.modes)}")
        arrays = self._request(mode, "run", example, mode)
        # L1: [output, *states]; compared as "outputs" and "new_states".
        return Result(last_output=[], outputs=arrays[0], new_states=arrays[1:])

    def check_worker(self, described):
        """Refuse to test a worker running another Keras than this row names."""

    @contextmanager
    def tensorflow_threads(self, threads):
        """A worker of its own for the block, its TensorFlow with `threads` inter- and
        intra-op threads (TensorFlow reads them once, at start); closed after it, so the next
        request goes to the shared worker again (known_replay: a race that more threads make
        show more often)."""
        self._worker = None  # the shared one stays up for the other rows
        self._threads = {"TF_NUM_INTEROP_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads)}
        try:
            yield
        finally:
            if self._worker is not None:
                self._worker.close()
            self._worker, self._threads = None, {}

    def _started_worker(self):
        if self._worker is None:
            if self._threads:  # a worker of its own (tensorflow_threads)
                self._worker = described_worker(self.flavor, {**self.worker_environment(), **self._threads})
            else:
                self._worker = shared_worker(self.flavor, self.worker_environment())
            self.check_worker(self._worker.described)
        return self._worker

    differentiates = True  # L7; Keras 3 on NumPy has no autodiff (contract section 4)
    TRAIN_MODE = "predict+train"  # compile_stats label of the train_on_batch requests

    def _request(self, stats_mode, *message):
        """A worker request, counted in compile_stats under `stats_mode`: "traced" when
        the worker built a new layer or model for it, "reused" when it reused one."""
        worker = self._started_worker()
        answer, (built, _) = counted_call(
            self.compile_stats, stats_mode, lambda: worker.request(*message), lambda r: r[1][0] > worker.built
        )
        worker.built = built
        return answer

    def run_layer_gradients(self, example, mode, loss_weights):
        """L7: the layer's result and Keras' own dL/d (x, passed initial states, every cell
        weight copy by copy) for L = sum(loss_weights[i] * [output, *states][i]), as
        (Result, dict of lists of arrays in layer_gradient_reference's layout)."""
        if mode not in self.modes:
            raise ValueError(f"{self.name} has no mode {mode!r}; modes: {', '.join(self.modes)}")
        weights = [np.asarray(w, np.float32) for w in loss_weights]
        arrays, grads = self._request(gradient_mode(mode), "gradients", example, mode, weights)
        return Result(last_output=[], outputs=arrays[0], new_states=arrays[1:]), grads

    def train_step(self, example, loss_weights, learning_rate):
        """L7: each cell weight's change after one `train_on_batch` of the "predict" model
        (SGD at `learning_rate`, loss sum(loss_weights[i] * [output, *states][i]))."""
        weights = [np.asarray(w, np.float32) for w in loss_weights]
        return self._request(self.TRAIN_MODE, "train", example, weights, learning_rate)


class Keras3Layer(LayerBackend):
    flavor = "keras3"
    extra = "keras"

    def __init__(self, keras_backend):
        super().__init__()
        self.keras_backend = keras_backend
        self.name = f"layer-keras-{keras_backend}"
        self.description = f"Keras 3 keras.layers.RNN, KERAS_BACKEND={keras_backend}"
        framework = KERAS3_BACKEND_PACKAGE[keras_backend]
        self.differentiates = keras_backend not in NO_AUTODIFF
        if keras_backend not in COMPILED_PREDICT:
            self.compiled_modes = ()  # Keras 3 predicts eagerly on torch and numpy
            self.cheap_modes = self.modes  # 57-125 examples/s in the default run
        self.packages = ("keras",) + ((framework,) if framework else ())
        if keras_backend == "openvino":
            self.also_reported = ("keras_openvino",)  # the Keras after 3.15 has its OpenVINO backend there
            self.extra = "openvino"  # Keras alone does not bring OpenVINO (nor the scipy its backend imports)

    def missing_package(self):
        """Keras 3 is what these rows need: a Keras 2 (a Theano environment's) is missing it.
        Told from the package's files, without importing it here (its worker imports it)."""
        missing = super().missing_package()
        if missing is None and not keras_is_keras3():
            return "keras>=3"
        return missing

    def worker_environment(self):
        return {"KERAS_BACKEND": self.keras_backend}

    def check_worker(self, described):
        if described["keras_backend"] != self.keras_backend:
            raise RuntimeError(f"{self.name}: the worker runs Keras on {described['keras_backend']!r}")


class TfKerasLayer(LayerBackend):
    name = "layer-tf-keras"
    description = "tf_keras.layers.RNN (Keras 2 on TensorFlow)"
    flavor = "tf_keras"
    packages = ("tf_keras", "tensorflow")
    extra = "tfkeras"


class Keras2TheanoLayer(LayerBackend):
    name = "layer-keras2-theano"
    description = "multi-backend Keras 2.3.1 keras.layers.RNN on Theano 1.0.5"
    flavor = "keras2"
    packages = ("theano", "keras")
    extra = None
    install_note = Keras2Theano.install_note
    environment = Keras2Theano.environment  # one environment (and in pytest one delegated run) for both rows
    modes = ("predict",)  # no eager execution in Keras 2 on Theano
    unsupported_options = ("zero_output_for_mask",)  # Keras 2's RNN lacks it (contract section 4)
    missing_package = Keras2Theano.missing_package  # the same environment as the function row
    dtype_policies = ()
    policies_note = "Keras 2.3.1 has no dtype policy API (mixed precision came with tf.keras 2.1)"

    def check_worker(self, described):
        if described["keras_backend"] != "theano":
            raise RuntimeError(f"{self.name}: the worker runs Keras on {described['keras_backend']!r}")


def layer_backends():
    return [Keras3Layer(name) for name in KERAS3_BACKEND_PACKAGE] + [TfKerasLayer(), Keras2TheanoLayer()]
