"""Adapter for Keras 3's NumPy `rnn` (`keras.src.backend.numpy.rnn.rnn`), eager only.

It is a NumPy function of the `rnn` signature, so it reuses `NumpyFunctionBackend`; the
Keras module is imported only when the loop is first asked for.
"""

from conformance.backends.numpy_function import NumpyFunctionBackend


class KerasNumpy(NumpyFunctionBackend):
    """Keras 3's own NumPy loop, run on the same NumPy arguments as the reference."""

    name = "keras-numpy"
    description = "Keras 3 keras.src.backend.numpy.rnn.rnn"
    packages = ("keras",)
    extra = "keras"
    run_by_default = True

    def __init__(self):
        pass  # name, description and the loop are fixed; the loop is imported lazily

    @property
    def rnn(self):
        from keras.src.backend.numpy.rnn import rnn

        return rnn
