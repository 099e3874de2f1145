"""Adapter for Keras 3's OpenVINO `rnn` (`keras.src.backend.openvino.rnn.rnn`), modes "eager" and "loop".

Unlike the other Keras 3 function rows, this one runs in a worker process (the layer
rows' worker, flavor "openvino-rnn"; the work itself is conformance/backends/openvino_side.py):

- The step function must be written with `keras.ops` on OpenVINO tensors, and Keras'
  dtype rules depend on the configured backend (float64 with a Python scalar stays
  float64 on TensorFlow, becomes float32 on OpenVINO). Under KERAS_BACKEND=openvino the
  row sees what a user's program sees.
- OpenVINO can hang in native code (a busy loop in `compile_model`) where SIGALRM
  (--example-timeout) cannot interrupt it; a worker is killed after `REPLY_SECONDS` without
  an answer, the example is reported as a crash ("no reply ... (a hang)"), and the next
  example starts a fresh worker.

"loop" compiles one `ov.Model` per configuration and reuses it (weights are arguments);
it is counted in `compile_stats` like the other compiled modes. OpenVINO is an
inference runtime: no gradients (`differentiates = False`: gradient properties are not
applicable).
"""

from collections import Counter

from conformance.backends.base import Backend, counted_call
from conformance.base.code_versions import asked_of
from conformance.backends.layer_worker.client import Worker

# Seconds one example may take once the worker answered a first time. The largest
# examples compile in about a second; a hang costs this much, then a new worker (~3 s).
REPLY_SECONDS = 60


class KerasOpenVINO(Backend):
    name = "keras-openvino"
    description = "Keras 3 keras.src.backend.openvino.rnn.rnn (KERAS_BACKEND=openvino, in a worker)"
    packages = ("keras", "openvino")
    also_reported = ("keras_openvino",)  # the Keras after 3.15 has its OpenVINO backend there (openvino_side.py)
    extra = "openvino"
    modes = ("eager", "loop")
    compiled_modes = ("loop",)
    ops = "keras"  # keras.ops under KERAS_BACKEND=openvino (rendered by conformance/replay/openvino_script.py)
    keras_backend = "openvino"
    rnn_path = "keras.src.backend.openvino.rnn:rnn"
    differentiates = False

    def __init__(self):
        self._worker = None
        self.compile_stats = Counter()
        self._traced = 0
        self._code = None

    def _started_worker(self):
        if self._worker is None:
            self._worker = Worker("openvino-rnn", {"KERAS_BACKEND": "openvino"}, reply_seconds=REPLY_SECONDS)
        return self._worker

    def code_versions(self):
        """Keras and OpenVINO as the worker imported them (this process need not import them)."""
        if self._code is None:
            self._code = asked_of(self._started_worker(), (*self.packages, *self.also_reported))
        return self._code

    def run(self, example, mode):
        if mode not in self.modes:
            raise ValueError(f"{self.name} has no mode {mode!r}; modes: {', '.join(self.modes)}")
        self._started_worker()
        if mode not in self.compiled_modes:
            result, (self._traced, _) = self._worker.request("run", example, mode)
            return result
        result, (traced, _) = counted_call(
            self.compile_stats, mode, lambda: self._worker.request("run", example, mode), lambda r: r[1][0] > self._traced
        )
        self._traced = traced
        return result
