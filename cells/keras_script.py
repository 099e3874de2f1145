"""A layer example as a standalone script for the Keras it failed on: the bug report.

The script builds the random cell as a Keras cell class (weights created zero, then set
to the spec's values), wraps it the way the suite did (`RNN`, a list of cells,
`Bidirectional`), feeds the data the way the failing mode did ("call": the layer called
eagerly on tensors; "predict": a functional `Model` and `model.predict_on_batch`, its
compiled predict function), once per mask
route, prints every result next to what the contract expects, and exits 1 while any
route disagrees with it (or the routes with each other), 0 once they all agree.

Three flavors, one per Keras lineage the suite tests: "keras3" (`keras.ops`),
"tf_keras" and "keras2" (multi-backend Keras 2.3.1 on Theano, made importable on
Python 3.11 by the script's first lines). The step function is the one
`cells.render.render_step` prints, over a small `ops` namespace for the Keras 2 lineage.
"""

from math import prod

import numpy as np

from cells.case_schema import CaseError
from cells.layer_example import MASK_VALUE, dense_columns
from cells.builtin_cell import is_builtin_cell
from cells.builtin_script import builtin_layer_lines
from cells.user_cell import is_user_cell, render_user_cell
from cells.render import array_source, comment_lines, has_non_finite, needs_ml_dtypes, render_step, render_weights

FLAVORS = ("keras3", "tf_keras", "keras2")

_HEADERS = {
    "keras3": """\
import numpy as np
import keras
from keras import ops

to_tensor, to_numpy = ops.convert_to_tensor, ops.convert_to_numpy
register = keras.saving.register_keras_serializable()""",
    "tf_keras": """\
import numpy as np
import tensorflow as tf
import tf_keras as keras


class ops:  # the TensorFlow functions the step uses, under NumPy's names
    reshape, concatenate, matmul, tanh, exp = tf.reshape, tf.concat, tf.matmul, tf.tanh, tf.exp


to_tensor, to_numpy = tf.convert_to_tensor, np.asarray
register = keras.utils.register_keras_serializable()""",
    "keras2": """\
# Multi-backend Keras 2.3.1 on Theano 1.0.5 (numpy 1.23.5); these lines make both
# importable on Python 3.11 (see rnn-conformance's conformance/backends/theano_env.py).
import collections
import collections.abc
import os

os.environ.setdefault("KERAS_BACKEND", "theano")
os.environ.setdefault("THEANO_FLAGS", "blas.ldflags=,mode=FAST_COMPILE")
for _name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable"):
    setattr(collections, _name, getattr(collections.abc, _name))

import numpy as np
import keras
from keras import backend as K


class ops:  # the keras.backend functions the step uses, under NumPy's names
    reshape, concatenate, matmul, tanh, exp = K.reshape, K.concatenate, K.dot, K.tanh, K.exp


to_numpy = np.asarray  # predict returns NumPy arrays


def register(cls):
    keras.utils.get_custom_objects()[cls.__name__] = cls
    return cls""",
}

_ASSIGN = {"keras3": "w.assign(v)", "tf_keras": "w.assign(v)", "keras2": "K.set_value(w, v)"}

def script_head(flavor, mode, title, keras_backend):
    """The first lines of a layer or stack script: its title, the KERAS_BACKEND it selects
    (Keras 3), the flavor's imports; a CaseError for a flavor or mode there is none of."""
    if flavor not in FLAVORS:
        raise CaseError(f"unknown Keras flavor {flavor!r}; valid: {', '.join(FLAVORS)}")
    if mode not in ("call", "predict"):
        raise CaseError(f"unknown mode {mode!r}; valid: call, predict")
    lines = comment_lines(title) + ([""] if title else [])
    if flavor == "keras3" and keras_backend:
        lines += ["import os", "", f"os.environ.setdefault({'KERAS_BACKEND'!r}, {keras_backend!r})"]
    lines += [_HEADERS[flavor]]
    if flavor == "keras3" and keras_backend == "openvino" and mode == "predict":
        lines += ["", "", OPENVINO_FLOAT32]
    return lines


# The scripts' own helper (this one and cells/stack_script.py): what a layer or a stack returned, flat.
FLAT_SOURCE = """
def flat(returned):
    \"\"\"[output, *states], whatever nesting the layer or stack returned them in.\"\"\"
    if isinstance(returned, (list, tuple)):
        return [leaf for item in returned for leaf in flat(item)]
    return [np.asarray(to_numpy(returned))]
"""

_FOOTER = FLAT_SOURCE + """

failed = False
for route in ROUTES:
    got = flat(run(route))
    agrees = len(got) == len(expected) and all(
        g.shape == e.shape and np.allclose(g, e, rtol=1e-4, atol=1e-5, equal_nan=True) for g, e in zip(got, expected)
    )
    failed |= not agrees
    print(f"{route}: {'agrees with the contract' if agrees else 'DIFFERS from the contract'}")
    for name, g, e in zip(NAMES, got, expected):
        print(f"  {name}: got {g.tolist()}, expected {e.tolist()}")
raise SystemExit(1 if failed else 0)
"""


def render_keras_cell(spec, name="Cell", state_size_as_int=False, flavor="keras3", weights_layout="whole"):
    """A Keras cell class `name` computing the spec's step (after the flavor's header);
    its weights are created zero and set to the spec's values when it is built ("sliced":
    the dense state and output weights as column slices of one kernel, as an LSTM's gates)."""
    if weights_layout == "sliced" and len(spec.structure.weight_shapes()) > 2:
        return _render_sliced_cell(spec, name, state_size_as_int, flavor)
    sizes = [prod(st.shape) for st in spec.structure.states]
    state_size = sizes[0] if state_size_as_int else sizes
    output_size = prod(spec.structure.outputs[0].shape)
    weights = render_weights(spec, f"{name}_W")
    step = render_step(spec, f"{name.lower()}_step", "W", ns="ops", weights_argument=True)
    cls = f"""@register
class {name}(keras.layers.Layer):
    state_size = {state_size!r}
    output_size = {output_size!r}

    def build(self, input_shape):
        self.w = [self.add_weight(name=f"w{{i}}", shape=v.shape, initializer="zeros") for i, v in enumerate({name}_W)]
        for w, v in zip(self.w, {name}_W):
            {_ASSIGN[flavor]}
        self.built = True

    def call(self, inputs, states):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        return {name.lower()}_step(inputs, states, self.w)"""
    return f"{weights}\n\n\n{step}\n\n\n{cls}\n"


def _render_sliced_cell(spec, name, state_size_as_int, flavor):
    """`render_keras_cell` with one kernel holding the dense weights side by side."""
    whole = render_keras_cell(spec, name, state_size_as_int, flavor)
    columns = dense_columns(spec.structure)
    packed = (f"{name}_V = {name}_W[:2] + [np.concatenate({name}_W[2:], axis=1)]  "
              "# the dense weights side by side in one kernel")
    build_old = f"enumerate({name}_W)]\n        for w, v in zip(self.w, {name}_W):"
    build_new = f"enumerate({name}_V)]\n        for w, v in zip(self.w, {name}_V):"
    call_old = f"return {name.lower()}_step(inputs, states, self.w)"
    call_new = (f"w = self.w[:2] + [self.w[2][:, a:b] for a, b in {columns!r}]  # each dense weight a slice of the kernel\n"
                f"        return {name.lower()}_step(inputs, states, w)")
    head, cls = whole.split("@register", 1)
    return head.rstrip() + "\n" + packed + "\n\n\n@register" + cls.replace(build_old, build_new).replace(call_old, call_new)


# As rnn-conformance's worker does (conformance/backends/layer_worker/keras_side.py): Keras' OpenVINO
# predict compiles with no config, which on a CPU with bfloat16 infers in bfloat16.
OPENVINO_FLOAT32 = """\
import openvino

_compile_model = openvino.compile_model


def compile_model(model, device_name="AUTO", config=None):  # float32 inference, as Keras' convert_to_numpy asks
    return _compile_model(model, device_name, {"INFERENCE_PRECISION_HINT": "f32", **(config or {})})


openvino.compile_model = compile_model"""


def layer_script(example, flavor="keras3", mode="call", expected=None, title=None, keras_backend=None, tolerance=None):
    """Standalone source of the example on one Keras (`flavor`) in one mode.

    `expected`: what the contract says the layer returns ([output, *states], e.g. from
    conformance.contract.layer_reference); without it the script only compares the mask routes.
    `keras_backend`: for Keras 3, the KERAS_BACKEND the script selects (unless set).
    `tolerance`: (rtol, atol) of the comparison under a dtype policy, whose results must
    also have the expected dtypes (float32: section 3's 1e-4, 1e-5)."""
    lines = script_head(flavor, mode, title, keras_backend)
    lo = example.layer
    if needs_ml_dtypes(expected or ()):
        lines.append("import ml_dtypes  # bfloat16 for NumPy")
    if has_non_finite([*example.inputs, *example.initial_states, *example.constants, *(expected or [])]):
        lines.append("from numpy import inf, nan  # non-finite values in the data below")
    lines += ["", ""]
    if any(is_user_cell(spec.structure) for spec in example.specs):
        lines += ["import sys"]
    builtin = is_builtin_cell(example.spec.structure)  # issue 41: the built-in layer itself
    for k, spec in enumerate(() if builtin else example.specs):
        if is_user_cell(spec.structure):  # --cell: the user's own class
            lines += [render_user_cell(spec, f"Cell{k}"), ""]
        else:
            lines += [render_keras_cell(spec, f"Cell{k}", lo.state_size_as_int, flavor, lo.weights_layout), ""]
    lines += [] if builtin else _layer_lines(example, flavor)
    lines.append(f"x = {array_source(example.inputs[0])}")
    lines += builtin_layer_lines(example, flavor) if builtin else []
    lines.append(f"mask = {'None' if example.mask is None else array_source(example.mask)}")
    states = example.initial_state_values()
    lines.append(f"initial_state = [{', '.join(array_source(s) for s in states)}]" if lo.initial_state else "initial_state = None")
    if example.constants:  # a tf_keras user cell's (--cell-framework tf-keras)
        lines.append(f"constants = [{', '.join(array_source(c) for c in example.constants)}]")
    returned_states = len(states) * (2 if lo.bidirectional else 1) if lo.return_state else 0
    if expected is None:
        lines.append("expected = None  # no contract values given: only the routes are compared")
    else:
        lines.append("# What the contract (rnn-conformance's NumPy reference) says the layer returns.")
        lines.append(f"expected = [{', '.join(array_source(e) for e in expected)}]")
    lines.append(f"NAMES = {['output'] + [f'state{i}' for i in range(returned_states)]!r}")
    routes = ["mask= argument", "Masking layer"] if example.mask is not None else ["no mask"]
    lines.append(f"ROUTES = {routes!r}")
    lines.append("")
    lines += _run_lines(example, flavor, mode)
    footer = _FOOTER
    if lo.dtype_policy != "float32" and tolerance is not None:  # the policy's tolerance, and its dtypes
        rtol, atol = (float(t) for t in tolerance)
        footer = footer.replace("g.shape == e.shape and np.allclose(g, e, rtol=1e-4, atol=1e-5, equal_nan=True)",
                                f"g.shape == e.shape and g.dtype == e.dtype and np.allclose(\n        "
                                f"g.astype(np.float64), e.astype(np.float64), rtol={rtol!r}, atol={atol!r}, equal_nan=True)")
    if expected is None:  # compare every route with the first one instead
        footer = footer.replace("for route in ROUTES:", "expected = flat(run(ROUTES[0]))\nfor route in ROUTES:")
    return "\n".join(lines) + "\n" + footer


def _layer_lines(example, flavor):
    o, lo = example.options, example.layer
    policy = _policy_source(lo.dtype_policy, flavor)
    cells = ", ".join(f"Cell{k}({policy})" for k in range(len(example.specs)))
    # Only literals of validated values (cells/case_schema.py), never text from a case.
    options = (
        f"return_sequences={bool(o.return_all_outputs)!r}, return_state={bool(lo.return_state)!r}, "
        f"go_backwards={bool(o.go_backwards)!r}, unroll={bool(o.unroll)!r}"
    )
    if flavor != "keras2":  # Keras 2's RNN has no zero_output_for_mask (contract section 4)
        options += f", zero_output_for_mask={bool(o.zero_output_for_mask)!r}"
    if policy:
        options += f", {policy}"
    layer = f"keras.layers.RNN({f'[{cells}]' if example.stacked else cells}, {options})"
    if lo.bidirectional:
        layer = f"keras.layers.Bidirectional({layer}{', ' + policy if policy else ''})"
    return [f"layer = {layer}"]


def _policy_source(policy, flavor):
    """`dtype=...` for a layer under a dtype policy (issue 40), "" under float32; Keras 3
    takes the policy's name, tf_keras its mixed_precision.Policy, Keras 2.3.1 none."""
    if policy == "float32":
        return ""
    if flavor == "keras2":
        raise CaseError(f"Keras 2.3.1 has no dtype policy: a {policy} case has no script for it")
    return f"dtype={policy!r}" if flavor == "keras3" else f"dtype=keras.mixed_precision.Policy({policy!r})"


def _initial_state_expression(example, flavor, states):
    """The `initial_state` argument as this Keras takes it (as the suite's keras_side
    passes it), from `states`, a list holding every copy's states (two for Bidirectional):
    one list per cell for stacked cells, except in Keras 2.3.1, which takes a flat list."""
    if not example.stacked or flavor == "keras2":
        return states
    copies = 2 if example.layer.bidirectional else 1
    split, start = [], 0
    for _ in range(copies):
        for spec in example.specs:
            n = len(spec.structure.states)
            split.append(f"{states}[{start}:{start + n}]")
            start += n
    return f"[{', '.join(split)}]"


def _run_lines(example, flavor, mode):
    o, lo = example.options, example.layer
    masking = f"keras.layers.Masking({MASK_VALUE!r}{', ' + _policy_source(lo.dtype_policy, flavor) if lo.dtype_policy != 'float32' else ''})"
    if mode == "call":
        lines = [
            "def run(route):",
            '    """The layer called eagerly on tensors, the mask given by `route`."""',
            "    h, kwargs = to_tensor(x), {}",
            '    if route == "Masking layer":',
            f"        h = {masking}(h)",
            '    elif route == "mask= argument":',
            "        kwargs['mask'] = to_tensor(mask)",
            "    if initial_state is not None:",
            f"        states = [to_tensor(s) for s in initial_state]{' * 2' if lo.bidirectional else ''}",
            f"        kwargs['initial_state'] = {_initial_state_expression(example, flavor, 'states')}",
        ]
        if example.constants:
            lines.append("    kwargs['constants'] = [to_tensor(c) for c in constants]")
        return lines + ["    return layer(h, **kwargs)"]
    steps = example.steps if o.unroll else None
    return [
        "def run(route):",
        '    """A functional Model run with `predict_on_batch`, the mask given by `route`."""',
        f"    x_in = keras.Input(shape=({steps!r},) + x.shape[2:])",
        "    inputs, data, kwargs, h = [x_in], [x], {}, x_in",
        '    if route == "Masking layer":',
        f"        h = {masking}(x_in)",
        '    elif route == "mask= argument":',
        f"        m_in = keras.Input(shape=({steps!r},), dtype='bool')",
        "        inputs.append(m_in)",
        "        data.append(mask)",
        "        kwargs['mask'] = m_in",
        "    if initial_state is not None:",
        f"        s_in = [keras.Input(shape=s.shape[1:]) for s in initial_state{' * 2' if lo.bidirectional else ''}]",
        "        inputs += s_in",
        f"        data += list(initial_state){' * 2' if lo.bidirectional else ''}",
        f"        kwargs['initial_state'] = {_initial_state_expression(example, flavor, 's_in')}",
    ] + ([
        "    kwargs['constants'] = [keras.Input(shape=c.shape[1:]) for c in constants]",
        "    inputs += kwargs['constants']",
        "    data += constants",
    ] if example.constants else []) + [
        "    return keras.Model(inputs, layer(h, **kwargs)).predict_on_batch(data)",
    ]
