"""Cells as a user writes them: Keras 3 layers with `state_size`, written with `keras.ops`.

Each stands for a kind of cell where the suite's findings bite cell authors: an output
that is not the first state (wrong under masks on some backends), states of different
sizes, a peephole LSTM and a matrix state (those two in conformance/known/known_cells, as
declared divergences' cells). Three are deliberately broken: `Float64ConstantCell`
computes with a float64 constant (its result depends on the backend's float types),
`CountingCell` keeps Python-side state, `ConstantsCell` requires constants Keras 3
cannot pass.
"""

import keras
from keras import ops

# Example cells that are also declared divergences' cells live in the suite (a declared
# entry's case may name only those): re-exported here.
from conformance.known.known_cells.keras3 import PeepholeLSTMCell, RankedStatesCell  # noqa: F401


@keras.saving.register_keras_serializable(package="user_cells")
class OutputUnlikeStateCell(keras.layers.Layer):
    """Output of size 3, state of size 2: the output is a projection, never the state."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 2
        self.output_size = 3

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1] + 2, 2), name="kernel")
        self.projection = self.add_weight(shape=(2, 3), name="projection")

    def call(self, inputs, states):
        state = states[0] if isinstance(states, (list, tuple)) else states
        new_state = ops.tanh(ops.matmul(ops.concatenate([inputs, state], axis=-1), self.kernel))
        return ops.matmul(new_state, self.projection) * 2.0 + 1.0, [new_state]


@keras.saving.register_keras_serializable(package="user_cells")
class TwoStatesCell(keras.layers.Layer):
    """Two states of different sizes (1 and 3); the output is the sum of both, size 3."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = [1, 3]
        self.output_size = 3

    def build(self, input_shape):
        self.a = self.add_weight(shape=(input_shape[-1] + 1, 1), name="a")
        self.b = self.add_weight(shape=(input_shape[-1] + 3, 3), name="b")

    def call(self, inputs, states):
        small, big = states
        small = ops.tanh(ops.matmul(ops.concatenate([inputs, small], axis=-1), self.a))
        big = ops.tanh(ops.matmul(ops.concatenate([inputs, big], axis=-1), self.b))
        return big + small, [small, big]


@keras.saving.register_keras_serializable(package="user_cells")
class StopGradientCell(keras.layers.Layer):
    """Its forward pass is a plain tanh cell, but `stop_gradient` hides the recurrent
    weight from autodiff: the backends' gradients of it are 0 while the reference's
    central differences are not, so L7 fails on every row that trains (the suite's
    gradient check can fire on a user's cell)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 2

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2), name="kernel")
        self.recurrent = self.add_weight(shape=(2, 2), name="recurrent")

    def call(self, inputs, states):
        recurrent = ops.stop_gradient(self.recurrent)
        state = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], recurrent))
        return state, [state]


@keras.saving.register_keras_serializable(package="user_cells")
class ConstantsCell(keras.layers.Layer):
    """Reads a constant at every step, as `RNN(cell)(x, constants=c)` once allowed: Keras 3's
    RNN has no `constants` argument, so this is a usage error on the Keras 3 rows."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 2

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2), name="kernel")

    def call(self, inputs, states, constants):
        state = ops.tanh(ops.matmul(inputs, self.kernel) + states[0] + constants[0])
        return state, [state]


class NotACell:
    """Not a Keras layer (a usage error)."""


@keras.saving.register_keras_serializable(package="user_cells")
class NoStateCell(keras.layers.Layer):
    """A layer without state_size (a usage error)."""

    def call(self, inputs):
        return inputs


@keras.saving.register_keras_serializable(package="user_cells")
class CountingCell(keras.layers.Layer):
    """Deliberately broken: keeps a Python counter across calls, so two runs on the same
    input differ (reported as a cell problem, not as a backend divergence)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 1
        self.calls = 0

    def call(self, inputs, states):
        self.calls += 1
        state = states[0] + ops.sum(inputs, axis=-1, keepdims=True) * float(self.calls)
        return state, [state]


@keras.saving.register_keras_serializable(package="user_cells")
class Float64ConstantCell(keras.layers.Layer):
    """Deliberately broken: adds a float64 constant, so what it returns depends on how
    each backend promotes float32 with float64 (NumPy: float64; JAX without x64: float32)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 1

    def call(self, inputs, states):
        state = states[0] + ops.sum(inputs, axis=-1, keepdims=True) + ops.convert_to_tensor(0.1, dtype="float64")
        return state, [state]


@keras.saving.register_keras_serializable(package="user_cells")
class FourFeaturesCell(keras.layers.Layer):
    """Builds only for inputs of 4 features (a usage error for any other --input-shape)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 1

    def build(self, input_shape):
        if input_shape[-1] != 4:
            raise ValueError(f"FourFeaturesCell takes 4 features, got {input_shape[-1]}")
        self.kernel = self.add_weight(shape=(4, 1), name="kernel")

    def call(self, inputs, states):
        state = ops.tanh(ops.matmul(inputs, self.kernel) + states[0])
        return state, [state]
