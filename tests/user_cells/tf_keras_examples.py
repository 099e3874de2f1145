"""Cells as a tf_keras user writes them (`--cell-framework tf-keras`), with TensorFlow ops.

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


@keras.utils.register_keras_serializable(package="user_cells")
class TfKerasPeepholeCell(keras.layers.Layer):
    """A tf_keras cell without constants: an output (h) unlike its second state (c)."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        n = self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * n), name="kernel")
        self.recurrent = self.add_weight(shape=(n, 4 * n), name="recurrent")
        self.peephole = self.add_weight(shape=(3, n), name="peephole")

    def call(self, inputs, states):
        h, c = states
        zi, zf, zc, zo = tf.split(tf.matmul(inputs, self.kernel) + tf.matmul(h, self.recurrent), 4, axis=-1)
        i = tf.sigmoid(zi + self.peephole[0] * c)
        f = tf.sigmoid(zf + self.peephole[1] * c)
        c = f * c + i * tf.tanh(zc)
        h = tf.sigmoid(zo + self.peephole[2] * c) * tf.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units}
