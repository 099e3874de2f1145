"""tf_keras' backend `rnn`: the Keras 2 TensorFlow lineage, in eager and tf.function modes."""

from conformance.backends.tensorflow_adapter import TensorFlowBackend


class TfKeras(TensorFlowBackend):
    name = "tf-keras"
    description = "tf_keras backend rnn (Keras 2 on TensorFlow)"
    packages = ("tf_keras", "tensorflow")
    extra = "tfkeras"
    modes = ("eager", "function")
    rnn_path = "tf_keras.src.backend:rnn"
