"""The built-in layer rows (issue 41): LSTM, GRU, SimpleRNN, ConvLSTM1D/2D on each Keras.

One row per layer row of conformance/backends/layers.py (`builtin-keras-tensorflow`, ...,
`builtin-tf-keras`, `builtin-keras2-theano`), in the same worker design and modes ("call",
"predict"), of level "builtin": the properties of conformance/properties/test_builtin_layers.py
run on them, not the custom-cell ones. Each example draws its path (cells/builtin_strategies.py,
the example's `LayerOptions.path`): "own" (the layer as a user writes it: the backend's own
kernel where it takes the configuration) or "generic" (the generic `RNN` loop), and both are
held to the same reference. What ran is counted per example and mode (`path_counts`, the
report's `speed.<mode>.paths`, the end of each speed line): the own path's kernel, the own
path fallen back to the generic loop, or the generic loop asked for. An own path that never
reached its kernel tested the generic loop twice, and the count says so.
"""

from collections import Counter

import numpy as np

from conformance.backends.base import Result, gradient_mode
from conformance.backends.layers import KERAS3_BACKEND_PACKAGE, Keras2TheanoLayer, Keras3Layer, TfKerasLayer

class BuiltinPaths:
    """What a built-in row adds to its layer row: the layers this Keras lacks, and the
    count of the paths that ran."""

    level = "builtin"
    policies_note = "the built-in rows run float32 (dtype policies are the custom-cell layer rows' property)"

    def _builtin_modes(self):
        self.cheap_modes = ()  # a built-in property's own count applies everywhere (profiles.BUILTIN_EXAMPLES)
        self.dtype_policies = ()
        # (mode, what ran: "own:<kernel>" | "own:standard" | "own:fell-back" | "generic") -> examples
        self.path_counts = Counter()

    missing_kinds = {}  # built-in layer -> why this Keras has none

    def fitted(self, example, mode):
        """The example, on the path it drew (Target.applicable calls it first); None for a
        layer this Keras lacks (not applicable: `refusals` says so beside the row)."""
        if any(spec.structure.kind in self.missing_kinds for spec in _specs(example)):
            return None
        return example

    def refusals(self):
        said = super().refusals() + "; paths: own or generic, drawn per example (each speed line counts what ran)"
        if self.missing_kinds:
            said += "; not applicable: " + "; ".join(f"{kind} ({why})" for kind, why in self.missing_kinds.items())
        return said

    def run(self, example, mode):
        self._checked(mode)
        arrays = self._request(mode, "run", example, mode)
        self._count_path(mode)
        return Result(last_output=[], outputs=arrays[0], new_states=arrays[1:])

    def run_layer_gradients(self, example, mode, loss_weights):
        self._checked(mode)
        weights = [np.asarray(w, np.float32) for w in loss_weights]
        arrays, grads = self._request(gradient_mode(mode), "gradients", example, mode, weights)
        return Result(last_output=[], outputs=arrays[0], new_states=arrays[1:]), grads

    def run_stateful(self, example, mode, cuts):
        """L9: [Result of each batch, then of the first again after reset_states()] of a
        stateful layer over the example's time axis cut at `cuts`."""
        self._checked(mode)
        batches = self._request(mode, "stateful", example, tuple(cuts), mode)
        return [Result(last_output=[], outputs=arrays[0], new_states=arrays[1:]) for arrays in batches]

    def _checked(self, mode):
        if mode not in self.modes:
            raise ValueError(f"{self.name} has no mode {mode!r}; modes: {', '.join(self.modes)}")

    def _count_path(self, mode):
        taken = self._started_worker().request("last_path")[0]
        self.path_counts[mode, taken or "generic"] += 1


class BuiltinKeras3Layer(BuiltinPaths, Keras3Layer):
    def __init__(self, keras_backend):
        super().__init__(keras_backend)
        self.name = f"builtin-keras-{keras_backend}"
        self.description = f"Keras 3 built-in LSTM, GRU, SimpleRNN, ConvLSTM layers, KERAS_BACKEND={keras_backend}"
        self._builtin_modes()


class BuiltinTfKerasLayer(BuiltinPaths, TfKerasLayer):
    name = "builtin-tf-keras"
    description = "tf_keras built-in LSTM, GRU, SimpleRNN, ConvLSTM layers (Keras 2 on TensorFlow)"

    def __init__(self):
        super().__init__()
        self._builtin_modes()


class BuiltinKeras2TheanoLayer(BuiltinPaths, Keras2TheanoLayer):
    name = "builtin-keras2-theano"
    description = "multi-backend Keras 2.3.1 built-in LSTM, GRU, SimpleRNN, ConvLSTM2D layers on Theano 1.0.5"

    unreachable_areas = ("rank>2",)  # its ConvLSTMs are not applicable: no state of rank > 1
    missing_kinds = {
        "ConvLSTM1D": "Keras 2.3.1 has ConvLSTM2D only",
        # Theano's convolution (CorrMM) is C code only: it raises MethodNotDefined('perform') in
        # the mode=FAST_COMPILE that scan needs on Python 3.11 (conformance/backends/theano_env.py).
        "ConvLSTM2D": "Theano 1.0.5's CorrMM has no Python implementation, and its C scan does not build on Python 3.11 "
                      "(the environment runs mode=FAST_COMPILE)",
    }

    def __init__(self):
        super().__init__()
        self._builtin_modes()


def _specs(example):
    return list(example.specs) + [n.spec for n in example.next_layers]


def builtin_layer_backends():
    return [BuiltinKeras3Layer(name) for name in KERAS3_BACKEND_PACKAGE] + [BuiltinTfKerasLayer(), BuiltinKeras2TheanoLayer()]
