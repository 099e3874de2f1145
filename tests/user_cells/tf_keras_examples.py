"""Cells as a tf_keras user writes them (`--cell-framework tf-keras`), with TensorFlow ops.

`ConstantsCell` (conformance/known/known_cells/tf_keras.py: a declared divergence's cell) reads
constants; `TfKerasPeepholeCell` reads none.
"""

import tensorflow as tf
import tf_keras as keras

from conformance.known.known_cells.tf_keras import ConstantsCell  # noqa: F401 - an example cell, and a declared divergence's


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
