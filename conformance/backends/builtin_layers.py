"""The built-in layer rows (issue 41): LSTM, GRU, SimpleRNN, ConvLSTM1D/2D on each Keras.

One row per layer row of conformance/backends/layers.py (`builtin-keras-tensorflow`, ...,
`builtin-tf-keras`, `builtin-keras2-theano`), in the same worker design, of level
"builtin": the properties of conformance/properties/test_builtin_layers.py run on them,
not the custom-cell ones. A mode names the path and the way the layer runs:
"own-call", "own-predict" (the layer as a user writes it: the backend's own kernel where it
takes the configuration) and "generic-call", "generic-predict" (the generic `RNN` loop), so
the matrix says, row by row, which path a result is about. Whether "own" reached the
backend's kernel or fell back to the generic loop is counted per example (`path_counts`,
the report's `speed.<mode>.paths`, the end of each own-path speed line): an own-path mode
that never reached its kernel tested the generic loop twice.
"""

from collections import Counter

import numpy as np

from conformance.backends.base import Result, gradient_mode
from conformance.backends.layers import KERAS3_BACKEND_PACKAGE, Keras2TheanoLayer, Keras3Layer, TfKerasLayer

PATH_MODES = ("own", "generic")


def split_mode(mode):
    """("own" | "generic", "call" | "predict") of a built-in row's mode."""
    path, _, base = mode.partition("-")
    return path, base


class BuiltinPaths:
    """What a built-in row adds to its layer row: modes per path, the example's path set
    from the mode, and the count of the paths that ran."""

    level = "builtin"
    # Run by name until they fit the default run's budget: with them, at 3 examples per
    # property, the default run took 693 s on this 2-core machine (600 s is the target);
    # their worker starts and the replays of their entries, not their examples, are most of it.
    run_by_default = False
    default_run_note = "not in the default run yet: with the built-in rows it took 693 s, over its 600 s (run it by name)"
    policies_note = "the built-in rows run float32 (dtype policies are the custom-cell layer rows' property)"

    def _builtin_modes(self):
        base_modes, compiled = self.modes, self.compiled_modes
        self.modes = tuple(f"{path}-{m}" for path in PATH_MODES for m in base_modes)
        self.compiled_modes = tuple(f"{path}-{m}" for path in PATH_MODES for m in compiled)
        self.cheap_modes = ()  # a built-in property's own count applies everywhere (profiles.BUILTIN_EXAMPLES)
        self.dtype_policies = ()
        self.path_counts = Counter()  # (mode, "own:<kernel>" | "own:standard" | "generic") -> examples

    missing_kinds = {}  # built-in layer -> why this Keras has none

    def fitted(self, example, mode):
        """The example on this mode's path (Target.applicable calls it first); None for a
        layer this Keras lacks (not applicable: `refusals` says so beside the row)."""
        if any(spec.structure.kind in self.missing_kinds for spec in _specs(example)):
            return None
        path, _ = split_mode(mode)
        return example if example.layer.path == path else example.changed(layer={"path": path})

    def refusals(self):
        said = super().refusals()
        if self.missing_kinds:
            said += "; not applicable: " + "; ".join(f"{kind} ({why})" for kind, why in self.missing_kinds.items())
        return said

    def run(self, example, mode):
        _, base = self._checked(mode)
        arrays = self._request(mode, "run", self.fitted(example, mode), base)
        self._count_path(mode)
        return Result(last_output=[], outputs=arrays[0], new_states=arrays[1:])

    def run_layer_gradients(self, example, mode, loss_weights):
        _, base = self._checked(mode)
        weights = [np.asarray(w, np.float32) for w in loss_weights]
        arrays, grads = self._request(gradient_mode(mode), "gradients", self.fitted(example, mode), base, weights)
        return Result(last_output=[], outputs=arrays[0], new_states=arrays[1:]), grads

    def run_stateful(self, example, mode, cuts):
        """L9: [Result of each batch, then of the first again after reset_states()] of a
        stateful layer over the example's time axis cut at `cuts`."""
        _, base = self._checked(mode)
        batches = self._request(mode, "stateful", self.fitted(example, mode), tuple(cuts), base)
        return [Result(last_output=[], outputs=arrays[0], new_states=arrays[1:]) for arrays in batches]

    def _checked(self, mode):
        if mode not in self.modes:
            raise ValueError(f"{self.name} has no mode {mode!r}; modes: {', '.join(self.modes)}")
        return split_mode(mode)

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
