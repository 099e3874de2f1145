"""The keras-legacy-tensorflow row (conformance/backends/keras_legacy.py) tests a loop of its
own: Keras 3's deprecated `keras.src.legacy.backend.rnn`, the function Keras 3 exports as
`keras._legacy.backend.rnn` and as tf.keras' `keras._tf_keras.keras.backend.rnn`; not
Keras 3's TensorFlow backend, nor tf_keras' code it was copied from. Its findings are its
own entries, so the row must run that function and no other."""

import importlib.util

import pytest

from conformance.backends import get_backend, not_installed_message

ROW = get_backend("keras-legacy-tensorflow")


def test_a_missing_keras_or_tensorflow_is_not_installed(monkeypatch):
    for package in ("keras", "tensorflow"):
        find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, gone=package: None if name == gone else find_spec(name, *a))
        assert not_installed_message(ROW) == (
            f"NOT INSTALLED: backend keras-legacy-tensorflow needs the Python package {package!r} (pip install 'rnn-conformance[keras]')")
        monkeypatch.undo()


def test_it_runs_the_legacy_module_that_keras_exports():
    if ROW.missing_package():
        pytest.skip(not_installed_message(ROW))
    rnn = ROW.rnn()
    assert rnn.__module__ == "keras.src.legacy.backend"
    from keras._tf_keras.keras import backend as tf_keras_compat

    assert tf_keras_compat.rnn is rnn  # the public name's function (its export: keras._legacy.backend.rnn)
    assert rnn is not get_backend("keras-tensorflow").rnn()
    if get_backend("tf-keras").missing_package() is None:
        assert rnn is not get_backend("tf-keras").rnn()
