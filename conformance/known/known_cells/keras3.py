"""Keras 3 cells of declared divergences (see conformance/known/known_cells/__init__.py)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="user_cells")
class PeepholeLSTMCell(keras.layers.Layer):
    """An LSTM whose gates also read the cell state (Gers and Schmidhuber, 2000)."""

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
        self.bias = self.add_weight(shape=(4 * n,), initializer="zeros", name="bias")

    def call(self, inputs, states):
        h, c = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent) + self.bias
        zi, zf, zc, zo = ops.split(z, 4, axis=-1)
        i = ops.sigmoid(zi + self.peephole[0] * c)
        f = ops.sigmoid(zf + self.peephole[1] * c)
        c = f * c + i * ops.tanh(zc)
        o = ops.sigmoid(zo + self.peephole[2] * c)
        h = o * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="user_cells")
class RankedStatesCell(keras.layers.Layer):
    """Two states of different ranks: a vector (3,) and a matrix (2, 2). Keras 3 reads an
    int-or-tuple `state_size` as nested vector states, so a rank-2 state comes from the
    cell's own `get_initial_state`; the output (3,) mixes both."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = [3, 4]
        self.output_size = 3

    def build(self, input_shape):
        self.a = self.add_weight(shape=(input_shape[-1] + 3, 3), name="a")
        self.b = self.add_weight(shape=(2, 2), name="b")

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, 3)), ops.zeros((batch_size, 2, 2))]

    def call(self, inputs, states):
        vector, matrix = states
        vector = ops.tanh(ops.matmul(ops.concatenate([inputs, vector], axis=-1), self.a))
        matrix = ops.tanh(ops.matmul(matrix, self.b) + ops.sum(vector, axis=-1)[:, None, None])
        return vector + ops.sum(matrix, axis=(1, 2))[:, None], [vector, matrix]
