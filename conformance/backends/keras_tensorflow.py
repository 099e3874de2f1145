"""Keras 3's TensorFlow backend `rnn` (keras.src.backend.tensorflow.rnn), in eager,
tf.function and XLA modes. Importable whatever KERAS_BACKEND says."""

from conformance.backends.tensorflow_adapter import TensorFlowBackend


class KerasTensorFlow(TensorFlowBackend):
    name = "keras-tensorflow"
    description = "Keras 3 keras.src.backend.tensorflow.rnn.rnn"
    packages = ("keras", "tensorflow")
    extra = "keras"
    rnn_path = "keras.src.backend.tensorflow.rnn:rnn"
    cheap_modes = ("eager",)  # 57.5 examples/s in the default run (tf-keras' eager 46.5, fixed-tensorflow's 37.3: not)
