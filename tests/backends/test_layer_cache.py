"""The layer worker keeps a bounded number of built layers (memory of a long run): the
least recently used goes first, and the one siblings reuse stays."""

from collections import OrderedDict
from types import SimpleNamespace

from conformance.backends.layer_worker import keras_side


def runner_without_keras(monkeypatch):
    """A LayerRunner whose building and weight setting are stand-ins (no Keras needed)."""
    runner = keras_side.LayerRunner.__new__(keras_side.LayerRunner)
    runner._built, runner.traced, runner.reused, runner.openvino = OrderedDict(), 0, 0, False
    runner._build = lambda example, mode: SimpleNamespace(layer=object(), model=None, call=lambda example: [])
    runner._set_weights = lambda layer, example: None
    runner.to_numpy = lambda x: x
    monkeypatch.setattr(keras_side, "_build_key", lambda example: example)
    return runner


def test_built_layers_are_bounded(monkeypatch):
    runner = runner_without_keras(monkeypatch)
    for configuration in range(3 * keras_side.BUILT_KEPT):
        runner.run(configuration, "predict")
        runner.run(0, "predict")  # used again and again: never the least recently used
    assert len(runner._built) == keras_side.BUILT_KEPT
    assert ("predict", 0) in runner._built
    assert runner.traced == 3 * keras_side.BUILT_KEPT and runner.reused == 3 * keras_side.BUILT_KEPT


def test_forgetting_compiles_every_kept_model_anew(monkeypatch):
    """The worker's ("forget",) request (Backend.forget_compiled): a replay's fresh attempt
    at a divergence that shows only in some compiled functions (known_divergences.toml,
    `attempts`) drops what each kept model compiled and keeps the layers."""
    runner = runner_without_keras(monkeypatch)
    runner._build = lambda example, mode: SimpleNamespace(
        layer=object(), call=lambda example: [], extra={},
        model=SimpleNamespace(train_function=None, predict_function=None))
    built = runner.built_for(0, "predict")
    built.extra["learning_rate"] = 0.5  # compiled for training (keras_gradients.train_step)
    built.model.train_function = built.model.predict_function = "compiled"
    runner.forget_compiled()
    assert runner.built_for(0, "predict") is built and runner.traced == 1 and runner.reused == 1
    assert built.extra == {} and built.model.train_function is None and built.model.predict_function is None


def test_tensorflow_threads_start_a_worker_of_their_own_and_the_usual_one_after(monkeypatch):
    """known_divergences.toml `tensorflow_threads`: the replay's attempts run in a worker
    started with TensorFlow's thread counts set (it reads them once, at start), and the
    next request after the replay goes to the usual worker again, which the replay left
    running for the other rows of that Keras (layers.shared_worker)."""
    from conformance.backends import layers

    started, closed = [], []

    class RecordingWorker:
        def __init__(self, flavor, environment):
            started.append(environment)

        def request(self, *message):
            return {"keras_backend": "tensorflow"} if message[0] == "describe" else ([[0.0]], (0, 0))

        def close(self):
            closed.append(self)

    monkeypatch.setattr(layers, "Worker", RecordingWorker)
    monkeypatch.setattr(layers, "_WORKERS", {})
    backend = layers.Keras3Layer("tensorflow")
    backend.run(None, "call")  # the usual worker
    with backend.tensorflow_threads(64):
        backend.run(None, "call")
    backend.run(None, "call")
    threads = {"TF_NUM_INTEROP_THREADS": "64", "TF_NUM_INTRAOP_THREADS": "64"}
    assert started == [{"KERAS_BACKEND": "tensorflow"}, {"KERAS_BACKEND": "tensorflow", **threads}]
    assert len(closed) == 1  # the replay's own worker; the usual one serves the last request
    assert backend._worker is layers._WORKERS["keras3", (("KERAS_BACKEND", "tensorflow"),)]
