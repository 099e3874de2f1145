"""The layer worker keeps a bounded number of built layers (memory of a long run): the
least recently used goes first, and the one siblings reuse stays."""

from collections import OrderedDict
from types import SimpleNamespace

from conformance.layers import keras_side


def runner_without_keras(monkeypatch):
    """A LayerRunner whose building and weight setting are stand-ins (no Keras needed)."""
    runner = keras_side.LayerRunner.__new__(keras_side.LayerRunner)
    runner._built, runner.traced, runner.reused = OrderedDict(), 0, 0
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


def test_forgetting_builds_every_layer_anew(monkeypatch):
    """The worker's ("forget",) request (Backend.forget_compiled): a replay's fresh attempt
    at a divergence that shows only in some builds (known_divergences.toml, `attempts`)."""
    runner = runner_without_keras(monkeypatch)
    runner.run(0, "predict")
    runner.run(0, "predict")
    runner.forget_built()
    runner.run(0, "predict")
    assert runner.traced == 2 and runner.reused == 1
