"""tf_keras cells of declared divergences (see conformance/known/known_cells/__init__.py).

`ConstantsCell` reads constants: tf_keras' `RNN` passes them to every step after the
states (`layer(x, constants=[c])`), which Keras 3's `RNN` no longer can. tf_keras builds a
cell from the step input shape alone, so the cell takes its constants' width as an
argument, and the suite is told their shape with `--constant-shape`.
"""

import tensorflow as tf
import tf_keras as keras


@keras.utils.register_keras_serializable(package="user_cells")
class ConstantsCell(keras.layers.Layer):
    """A tanh cell that also reads a per-sequence context vector at every step."""

    def __init__(self, units=3, context_features=2, **kwargs):
        super().__init__(**kwargs)
        self.units, self.context_features = units, context_features
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.context_kernel = self.add_weight(shape=(self.context_features, self.units), name="context_kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), name="recurrent")

    def call(self, inputs, states, constants):
        (h,), (context,) = states, constants
        h = tf.tanh(tf.matmul(inputs, self.kernel) + tf.matmul(context, self.context_kernel) + tf.matmul(h, self.recurrent))
        return h, [h]

    def get_config(self):  # Bidirectional builds its backward copy from the config
        return {**super().get_config(), "units": self.units, "context_features": self.context_features}
