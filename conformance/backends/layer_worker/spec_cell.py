"""The suite's random cell as a Keras cell class, inside a layer worker (keras_side).

Its step is `cells.build.make_step`; its weights are created zero and set from each
example's spec. Under LayerOptions.weights_layout "sliced" it keeps the weights of its
dense states and outputs in one kernel and takes each as a column slice, as an LSTM
takes its gates (issue 40: an autocast variable may cast a slice otherwise than the whole).
"""

from math import prod

import numpy as np

from cells.build import make_step
from cells.layer_example import dense_columns, packed_weights


def register(keras, cell_class):
    """Make the cell class known to Keras' deserialization, as Keras documents for custom
    layers: `Bidirectional` builds its backward copy from the layer's config (L5)."""
    saving = getattr(keras, "saving", None)
    if saving is not None and hasattr(saving, "register_keras_serializable"):  # Keras 3
        saving.register_keras_serializable(package="rnn_conformance")(cell_class)
    elif hasattr(keras.utils, "register_keras_serializable"):  # tf_keras
        keras.utils.register_keras_serializable(package="rnn_conformance")(cell_class)
    else:  # Keras 2.3.1
        keras.utils.get_custom_objects()[cell_class.__name__] = cell_class


def cell_class(keras, ops):
    """A Keras cell class over `ops` whose step is `cells.build.make_step` (L4)."""

    class SpecCell(keras.layers.Layer):
        """A random cell: `state_size` an int or a list of ints, any `output_size`."""

        def __init__(self, structure, state_size_as_int=False, weights_layout="whole", **kwargs):
            super().__init__(**kwargs)
            self.structure, self.state_size_as_int, self.weights_layout = structure, state_size_as_int, weights_layout
            sizes = [prod(s.shape) for s in structure.states]
            self.state_size = sizes[0] if state_size_as_int else sizes
            self.output_size = prod(structure.outputs[0].shape)

        def build(self, input_shape):
            zeros = [np.zeros(shape, np.float32) for shape in self.structure.weight_shapes()]
            self.w = [
                self.add_weight(name=f"w{i}", shape=w.shape, initializer="zeros")
                for i, w in enumerate(packed_weights(self.structure, zeros, self.weights_layout))
            ]
            self.built = True

        def call(self, inputs, states):
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            weights = self.w
            if len(weights) < len(self.structure.weight_shapes()):  # "sliced": each dense weight a slice of one kernel
                weights = weights[:2] + [weights[2][:, a:b] for a, b in dense_columns(self.structure)]
            output, new_states = make_step(self.structure, ops, weights)(inputs, tuple(states))
            return output, list(new_states)

        def get_config(self):  # Bidirectional copies the layer (and this cell) from its config
            from cells.serialize import structure_to_dict

            return {**super().get_config(), "structure": structure_to_dict(self.structure),
                    "state_size_as_int": self.state_size_as_int, "weights_layout": self.weights_layout}

        @classmethod
        def from_config(cls, config):
            from cells.serialize import structure_from_dict

            config = dict(config)
            structure = structure_from_dict(config.pop("structure"))
            return cls(structure, config.pop("state_size_as_int"), config.pop("weights_layout", "whole"), **config)

    return SpecCell
