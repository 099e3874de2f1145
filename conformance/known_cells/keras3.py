"""Keras 3 cells of declared divergences (see conformance/known_cells/__init__.py)."""

import keras
from keras import ops


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
