"""Running a `LayerExample` through one Keras's `RNN` layer, inside that Keras's process.

This module is imported only by the worker (conformance/backends/layer_worker/worker.py), in a process
whose KERAS_BACKEND was set before Keras was imported. It builds a cell class from a
random cell spec (weights created zero, then set from the spec for each example), wraps
it in `RNN` (a list of cells for stacked cells, `Bidirectional` when asked), and feeds the
mask by the example's route (L3): the `mask=` argument, or a `Masking` layer in front.

Modes: "call" calls the layer directly (eager); "predict" builds a functional `Model`
(inputs for x, the mask and each initial state, as the route needs) and runs its compiled
predict function through `model.predict_on_batch`. `model.predict` runs the same function
behind an input pipeline that has nothing to do with the loop and, on TensorFlow, costs
about 70 ms a call against 1 ms (measured on Keras 3.15.1). Layers and models are cached by everything they are built from (cell
structures, options, route, whether initial states are inputs, T when unrolling), so a
new example with the same structure only sets weights and data. The cache keeps the last
`BUILT_KEPT` of them: siblings reuse the layer just built, and a long run would otherwise
keep every configuration it ever drew (the function rows' caches are bounded the same way).
"""

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from cells.layer_example import MASK_VALUE, packed_weights, unpacked_weights
from cells.ops import KerasOps, get_ops
from cells.builtin_cell import is_builtin_cell
from cells.user_cell import is_user_cell
from conformance.backends.layer_worker.builtin_side import KernelWatch, builtin_layer, is_builtin_example, path_taken
from conformance.backends.layer_worker.spec_cell import cell_class, register

FLAVORS = ("keras3", "tf_keras", "keras2")
BUILT_KEPT = 16


@dataclass
class Built:
    """A built layer (and, in "predict", its functional model) and how to run it:
    `call(example)` runs it as the mode does; `call_on(x, states, example)` ("call") calls
    the layer on given framework tensors; `model_data(example, x, states)` ("predict")
    lists the model's inputs. `extra` keeps what the gradient and training requests built
    for it (compiled gradient functions, a compiled model), so siblings reuse them."""

    layer: object
    call: object
    model: object = None
    call_on: object = None
    model_data: object = None
    extra: dict = field(default_factory=dict)


class LayerRunner:
    def __init__(self, flavor):
        self.openvino = False  # Keras 3 under KERAS_BACKEND=openvino (its trainer needs help, below)
        if flavor == "keras3":
            import keras

            self.keras, self.ops = keras, KerasOps()
            self.to_numpy = keras.ops.convert_to_numpy
            self.to_tensor = keras.ops.convert_to_tensor
            self.openvino = keras.backend.backend() == "openvino"
            if self.openvino:
                _request_float32_inference()
        elif flavor == "tf_keras":
            import tf_keras

            import tensorflow

            self.keras, self.ops = tf_keras, get_ops("tensorflow")
            self.to_numpy = np.asarray
            self.to_tensor = tensorflow.convert_to_tensor
        elif flavor == "keras2":
            from conformance.backends.theano_env import prepare

            prepare()
            import keras

            self.keras, self.ops = keras, get_ops("theano")
            self.to_numpy = np.asarray
        else:
            raise ValueError(f"unknown Keras flavor {flavor!r}; valid: {', '.join(FLAVORS)}")
        self.flavor = flavor
        # Keras 3's own LSTM/GRU kernels, watched (conformance/backends/layer_worker/builtin_side.py)
        self.kernel_watch = KernelWatch() if flavor == "keras3" else None
        self.last_path = None
        self.cell_class = cell_class(self.keras, self.ops)
        register(self.keras, self.cell_class)
        self._built = OrderedDict()  # least recently used first
        self.traced = self.reused = 0

    @staticmethod
    def flatten(returned):
        """[output, *states], flat (builtin_side's stateful calls use it too)."""
        return _flatten(returned)

    def describe(self):
        backend = self.keras.backend.backend() if hasattr(self.keras.backend, "backend") else "?"
        return {"flavor": self.flavor, "keras": self.keras.__version__, "keras_backend": backend}

    def run(self, example, mode):
        """The layer's return value for this example, as a list of NumPy arrays."""
        built = self.built_for(example, mode)
        try:
            returned = [np.asarray(self.to_numpy(r)) for r in _flatten(built.call(example))]
        except Exception:
            self._forget_open_name_scopes()
            raise
        if is_builtin_example(example):  # which path ran (issue 41): asked for by ("last_path",)
            answered = self.kernel_watch.take() if self.kernel_watch else []
            if answered or "path" not in built.extra:  # a compiled model calls the kernel while tracing only
                first = built.layer[0] if isinstance(built.layer, list) else built.layer
                built.extra["path"] = path_taken(self, example, answered, first)
            self.last_path = built.extra["path"]
        return returned

    def forget_compiled(self):
        """Drop what each kept model compiled (its train and predict functions; in `extra`,
        its compile and the gradient functions), keeping layers and models: the next request
        traces and compiles anew. A replay's fresh attempt at a divergence that shows only in
        some compiled functions (known_divergences.toml, `attempts`): TensorFlow's unrolled
        train step is wrong in some compiled train functions of one model, at the rate a
        whole new model shows (measured), and a new function costs a fraction of a model."""
        for built in self._built.values():
            built.extra.clear()
            if built.model is not None:
                built.model.train_function = built.model.predict_function = None

    def built_for(self, example, mode):
        """The cached (or new) `Built` for this example's configuration, its weights set
        to the example's (the gradient and training requests share it with `run`)."""
        key = (mode, _build_key(example))
        if key not in self._built:
            try:
                built = self._build(example, mode)
                if mode == "call":
                    built.call(example)  # a layer called directly creates its weights on the first call
            except Exception:
                self._forget_open_name_scopes()
                raise
            self._built[key] = built
            if len(self._built) > BUILT_KEPT:
                self._built.popitem(last=False)
            self.traced += 1
        else:
            self._built.move_to_end(key)
            self.reused += 1
        built = self._built[key]
        self._set_weights(built.layer, example)
        if built.model is not None and self.openvino:
            # Keras' OpenVINO trainer compiles the model with the weights' values as
            # constants and reuses that compile whatever `assign` did since: predict would
            # answer with the first example's weights (a finding, tests/backends/test_openvino.py).
            # Dropping it is the workaround a user has, so predict tests the loop. (Setting
            # it also restores the attribute after a failed compile: the trainer deletes
            # it before compiling, so one crash would make every later predict raise
            # AttributeError instead of the model's own error.)
            built.model.ov_compiled_model = None
        return built

    def _forget_open_name_scopes(self):
        """Keras 2.3.1's Theano `name_scope` pops its scope only on success: after a crash
        every later weight name would nest inside the failed layer's scopes."""
        if self.flavor == "keras2":
            self.keras.backend.theano_backend.NAME_SCOPE_STACK.clear()

    # -- building ---------------------------------------------------------------------

    def layer_of(self, example):
        k, o, lo = self.keras, example.options, example.layer
        dtype = self.policy_of(lo)
        if is_builtin_example(example):  # issue 41: the built-in layer itself, on its path
            layer = builtin_layer(self, lo, example.spec, o, dtype)
            return k.layers.Bidirectional(layer, merge_mode=lo.merge_mode, **dtype) if lo.bidirectional else layer
        cells = [self._cell(spec, lo, dtype) for spec in example.specs]
        options = dict(
            return_sequences=o.return_all_outputs,
            return_state=lo.return_state,
            go_backwards=o.go_backwards,
            unroll=o.unroll,
            **dtype,
        )
        if self.flavor != "keras2":  # Keras 2's RNN has no zero_output_for_mask (contract section 4)
            options["zero_output_for_mask"] = o.zero_output_for_mask
        layer = k.layers.RNN(cells if example.stacked else cells[0], **options)
        return k.layers.Bidirectional(layer, merge_mode=lo.merge_mode, **dtype) if lo.bidirectional else layer

    def policy_of(self, layer_options):
        """`dtype=` for every layer and cell under the example's dtype policy (issue 40):
        nothing under float32 (as before policies were drawn); Keras 3 takes the policy's
        name, tf_keras its own `mixed_precision.Policy`; Keras 2.3.1 has none (the row says
        so: Keras2TheanoLayer.dtype_policies)."""
        policy = layer_options.dtype_policy
        if policy == "float32":
            return {}
        if self.flavor == "tf_keras":
            return {"dtype": self.keras.mixed_precision.Policy(policy)}
        if self.flavor == "keras3":
            return {"dtype": policy}
        raise NotImplementedError(f"Keras 2.3.1 has no dtype policy API: cannot build a {policy} layer")

    def _cell(self, spec, layer_options, dtype=None):
        """The suite's cell for a spec, or a new instance of the user's (--cell)."""
        if is_user_cell(spec.structure):
            from conformance.backends.layer_worker.user_cell_side import make_cell

            return make_cell(spec.structure)
        return self.cell_class(spec.structure, layer_options.state_size_as_int, layer_options.weights_layout, **(dtype or {}))

    def _build(self, example, mode):
        if example.next_layers:  # a stack of layers (L8)
            from conformance.backends.layer_worker import stack_side

            layers, call, model = stack_side.build(self, example, mode)
            return Built(layers, call, model=model)
        k, lo = self.keras, example.layer
        layer = self.layer_of(example)
        masked_by_layer = example.mask is not None and lo.mask_route == "masking-layer"
        mask_argument = example.mask is not None and lo.mask_route == "mask-argument"
        copies = 2 if lo.bidirectional else 1

        if mode == "call":

            def call_on(x, states, ex):
                """The layer called on framework tensors `x` and `states` (one per state)."""
                kwargs = {}
                if masked_by_layer:
                    x = k.layers.Masking(MASK_VALUE, **self.policy_of(lo))(x)
                if mask_argument:
                    kwargs["mask"] = self.to_tensor(ex.mask)
                if lo.initial_state:
                    kwargs["initial_state"] = self.initial_state_argument(ex, list(states)) * copies
                if ex.constants:  # a tf_keras user cell's (--cell-framework tf-keras)
                    kwargs["constants"] = [self.to_tensor(c) for c in ex.constants]
                return layer(x, **kwargs)

            def call(ex):
                # Framework tensors, as a user calling a layer eagerly would pass them.
                states = [self.to_tensor(s) for s in ex.initial_state_values()] if lo.initial_state else []
                return call_on(self.to_tensor(ex.inputs[0]), states, ex)

            return Built(layer, call, call_on=call_on)

        steps = example.steps if example.options.unroll else None
        x_in = k.Input(shape=(steps,) + example.inputs[0].shape[2:], dtype="float32")
        inputs, kwargs, h = [x_in], {}, x_in
        if masked_by_layer:
            h = k.layers.Masking(MASK_VALUE, **self.policy_of(lo))(x_in)
        if mask_argument:
            m_in = k.Input(shape=(steps,), dtype="bool")
            inputs.append(m_in)
            kwargs["mask"] = m_in
        if lo.initial_state:
            state_inputs = [k.Input(shape=s.shape[1:], dtype="float32") for s in example.initial_states * copies]
            inputs += state_inputs
            per_copy = len(example.initial_states)
            kwargs["initial_state"] = [
                item
                for c in range(copies)
                for item in self.initial_state_argument(example, state_inputs[c * per_copy : (c + 1) * per_copy])
            ]
        if example.constants:  # one input per constant, shared by both copies (as Bidirectional does)
            constant_inputs = [k.Input(shape=c.shape[1:], dtype="float32") for c in example.constants]
            inputs += constant_inputs
            kwargs["constants"] = constant_inputs
        model = k.Model(inputs, layer(h, **kwargs))

        def model_data(ex, x, states, mask=None):
            """The model's inputs: `x`, the mask (as given, or the example's) when it is
            an input, `states` once per copy of the layer, and the constants."""
            data = [x]
            if mask_argument:
                data.append(ex.mask if mask is None else mask)
            if lo.initial_state:
                data += list(states) * copies
            return data + list(ex.constants)

        def predict(ex):
            return model.predict_on_batch(model_data(ex, ex.inputs[0], ex.initial_state_values()))

        return Built(layer, predict, model=model, model_data=model_data)

    def initial_state_argument(self, example, states):
        """The layer's `initial_state` as this Keras's API takes it: one list per cell for
        stacked cells, except in Keras 2.3.1, whose StackedRNNCells takes one flat list."""
        if example.stacked and self.flavor != "keras2":
            return example.states_per_cell(list(states))
        return list(states)

    def cell_variables(self, layer, example):
        """Every cell weight variable: copy by copy (Bidirectional: forward, backward),
        cell by cell, in each cell's weight order (the reference's order, L7)."""
        halves = [layer.forward_layer, layer.backward_layer] if example.layer.bidirectional else [layer]
        return [v for half in halves for cell in (half.cell.cells if example.stacked else [half.cell]) for v in self._variables(cell)]

    def _variables(self, cell):
        """A cell's weight variables in its weight order: the suite's cells keep them in
        `w`; a user's cell (--cell) has them in `weights`, the order `set_weights` uses."""
        return cell.w if isinstance(cell, self.cell_class) else cell.weights

    def variable_values(self, example, arrays=None):
        """The values of `cell_variables` for the example's weights (or for `arrays`, one
        per weight in the reference's order): each cell's packed as its layout keeps them."""
        arrays = iter([w for _ in range(2 if example.layer.bidirectional else 1) for s in example.specs
                       for w in s.weight_arrays()] if arrays is None else arrays)
        return [v for _ in range(2 if example.layer.bidirectional else 1) for spec in example.specs
                for v in packed_weights(spec.structure, [next(arrays) for _ in spec.weight_arrays()], self._layout(spec, example))]

    def per_weight(self, example, arrays):
        """Arrays of `cell_variables` (gradients, changes) as one per weight, in the
        reference's order (L7 compares weight by weight): each sliced kernel split back."""
        arrays, found = iter(arrays), []
        for _ in range(2 if example.layer.bidirectional else 1):
            for spec in example.specs:
                layout = self._layout(spec, example)
                count = len(packed_weights(spec.structure, spec.weight_arrays(), layout))
                found += unpacked_weights(spec.structure, [next(arrays) for _ in range(count)], layout)
        return found

    @staticmethod
    def _layout(spec, example):
        whole = is_user_cell(spec.structure) or is_builtin_cell(spec.structure) or example.next_layers
        return "whole" if whole else example.layer.weights_layout

    def value_of(self, variable):
        """A weight variable's current value as a NumPy copy."""
        if hasattr(variable, "numpy"):
            return np.array(variable.numpy())
        return np.array(self.keras.backend.get_value(variable))  # Keras 2 on Theano

    def _set_weights(self, layer, example):
        if example.next_layers:  # a stack (L8): `layer` is its layers, first to last
            from conformance.backends.layer_worker.stack_side import layers_of

            for one, part in zip(layer, layers_of(example)):
                self._set_weights(one, part)
            return
        values = self.variable_values(example)
        for variable, value in zip(self.cell_variables(layer, example), values):
            if hasattr(variable, "assign"):
                variable.assign(value)
            else:  # Keras 2 on Theano: shared variables
                self.keras.backend.set_value(variable, value)


def _request_float32_inference():
    """Make Keras' OpenVINO trainer compile with float32 inference precision.

    Its `predict` compiles with `openvino.compile_model(model, device)`, no config, and
    on a CPU with bfloat16 support OpenVINO then infers in bfloat16 (this machine:
    results off by 1e-3). Keras' own `convert_to_numpy` (the "call" mode) asks for f32;
    the row tests the loop, not the precision OpenVINO picks, so predict asks too."""
    import openvino

    original = openvino.compile_model
    if getattr(original, "requests_float32", False):
        return

    def compile_model(model, device_name="AUTO", config=None):
        return original(model, device_name, {"INFERENCE_PRECISION_HINT": "f32", **(config or {})})

    compile_model.requests_float32 = True
    openvino.compile_model = compile_model


def _flatten(returned):
    """[output, *states] with the per-cell state lists of stacked cells flattened."""
    if isinstance(returned, (list, tuple)):
        return [leaf for item in returned for leaf in _flatten(item)]
    return [returned]


def _build_key(example):
    o = example.options
    further = tuple((n.spec.structure, n.options, n.layer) for n in example.next_layers)
    further += (example.mask_each_layer, example.stack_build, example.steps if any(n.options.unroll for n in example.next_layers) else None)
    return further + (
        tuple(spec.structure for spec in example.specs),
        o.go_backwards,
        o.unroll,
        o.zero_output_for_mask,
        o.return_all_outputs,
        example.layer,
        example.mask is not None,
        example.steps if o.unroll else None,
    )
