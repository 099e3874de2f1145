"""A function-row example as a standalone script for the `rnn` it ran on: the bug report.

The script holds the random cell (weights as literals, the step function that
`cells.render.render_step` prints, over the array library the backend's step functions
use), the data and options as literals, and calls the backend's `rnn` exactly the way
the suite's adapter for that backend does in the failing mode: the same conversion of
the data to framework tensors, the same arguments, the same `tf.function` / XLA /
`jax.jit` / `theano.function` wrapping. It prints each part of the result (last_output,
outputs, new_states) next to the contract's values, with the suite's tolerances, and
exits 1 while anything differs or the call crashes, 0 once all agree. So a maintainer
can run it with nothing but NumPy and their framework, and it keeps failing until the
loop is fixed.

Third-party implementations (a Backend-like object with `impl_target = "pkg.mod:func"`
and `ops`, the array library of its step functions) get the same script around
`from pkg.mod import func as rnn`, called eagerly on that library's arrays.
"""

import numpy as np
import optree

from cells.case_schema import CaseError
from cells.render import array_source, comment_lines, has_non_finite, render_step, render_weights
from conformance.contract import precision
from conformance.judge.assertions import MAX_POSITIONS_SHOWN, TOLERANCES
from conformance.backends.base import DATA_ARGUMENTS, STATIC_OPTIONS
from conformance.backends.keras2_theano import DEFAULTS_OF_MISSING_OPTIONS, STATIC_OPTIONS as THEANO_STATIC
from conformance.replay.openvino_script import FRAMEWORK as OPENVINO_FRAMEWORK, openvino_run

PARTS = ("last_output", "outputs", "new_states")

# The loops whose adapters import them inline rather than naming a "module:function".
INLINE_TARGETS = {
    "keras-jax": "keras.src.backend.jax.rnn:rnn",
    "keras-torch": "keras.src.backend.torch.rnn:rnn",
    "keras2-theano": "keras.backend.theano_backend:rnn",
}

# Per array library: its imports, the namespace the step is printed over, how the
# adapters turn NumPy data into its arrays (None: passed as they are) and results back.
FRAMEWORKS = {
    "numpy": dict(imports="import numpy as np", helpers="", ns="np", to_tensor=None, to_numpy="np.asarray"),
    "tensorflow": dict(
        imports="import numpy as np\nimport tensorflow as tf",
        helpers="""\
class ops:  # the TensorFlow functions the step uses, under NumPy's names
    reshape, concatenate, matmul, tanh, exp = tf.reshape, tf.concat, tf.matmul, tf.tanh, tf.exp
    log, sqrt = tf.math.log, tf.sqrt  # input transforms (cells/spec.py)""",
        ns="ops",
        to_tensor="tf.convert_to_tensor",
        to_numpy="np.asarray",
    ),
    "jax": dict(
        imports="import numpy as np\nimport jax\nimport jax.numpy as jnp",
        helpers='jax.config.update("jax_enable_x64", True)  # float64 data stay float64, as in rnn-conformance',
        ns="jnp",
        to_tensor="jnp.asarray",
        to_numpy="np.asarray",
    ),
    "torch": dict(
        imports="import numpy as np\nimport torch",
        helpers="""\
class ops:  # the PyTorch functions the step uses, under NumPy's names
    reshape, concatenate, matmul, tanh, exp = torch.reshape, torch.cat, torch.matmul, torch.tanh, torch.exp
    log, sqrt = torch.log, torch.sqrt  # input transforms (cells/spec.py)


def to_tensor(a):
    if str(a.dtype) == "bfloat16":  # torch reads no ml_dtypes array: its bit patterns, viewed back
        return torch.from_numpy(np.array(a, copy=True).view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(np.array(a, copy=True))


def to_numpy(t):
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:  # .numpy() refuses bfloat16
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()""",
        ns="ops",
        to_tensor="to_tensor",
        to_numpy="to_numpy",
    ),
    "theano": dict(
        imports="""\
# Multi-backend Keras 2.3.1 on Theano 1.0.5 (numpy 1.23.5); these lines make both
# importable on Python 3.11 (see rnn-conformance's conformance/backends/theano_env.py).
import collections
import collections.abc
import os

os.environ["KERAS_BACKEND"] = "theano"
os.environ.setdefault("THEANO_FLAGS", "blas.ldflags=,mode=FAST_COMPILE")
for _name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable", "MutableSet", "Container"):
    setattr(collections, _name, getattr(collections.abc, _name))

import numpy as np
import theano
import theano.tensor as T""",
        helpers="""\
class ops:  # the theano.tensor functions the step uses, under NumPy's names
    concatenate, matmul, tanh, exp = T.concatenate, T.dot, T.tanh, T.exp
    log, sqrt = T.log, T.sqrt  # input transforms (cells/spec.py)

    @staticmethod
    def reshape(x, shape):  # a size-1 dimension stays an ordinary (not broadcastable) one
        return T.unbroadcast(x.reshape(shape, ndim=len(shape)), *range(len(shape)))""",
        ns="ops",
        to_tensor=None,
        to_numpy="np.asarray",
    ),
}
FRAMEWORKS["keras"] = OPENVINO_FRAMEWORK  # keras.ops under KERAS_BACKEND=openvino (keras-openvino)
IMPL_TO_TENSOR = {"numpy": "np.array"}  # the --impl adapter hands its loop copies of NumPy data

FOOTER = """

def leaves(tree):
    \"\"\"The arrays of a nest of lists and tuples, in order.\"\"\"
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def close(g, e, allowed):
    \"\"\"Where `g` is close enough to `e`: RTOL and ATOL, or in float16 and bfloat16 the
    largest difference the suite allows at each value (ALLOWED).\"\"\"
    if allowed is None:
        return np.isclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True)
    g, e = np.asarray(g, np.float64), np.asarray(e, np.float64)
    with np.errstate(invalid="ignore"):
        return (np.abs(g - e) <= allowed) | (g == e) | (np.isnan(g) & np.isnan(e))


def differences(got, expected, allowed=None):
    \"\"\"One line per way the arrays `got` differ from `expected`; none when they agree.\"\"\"
    if len(got) != len(expected):
        return [f": {len(got)} arrays, expected {len(expected)}"]
    found = []
    for i, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            found.append(f"[{i}]: shape {g.shape}, expected {e.shape}")
            continue
        if g.dtype != e.dtype:
            found.append(f"[{i}]: dtype {g.dtype}, expected {e.dtype}")
        for position in np.argwhere(~close(g, e, allowed[i] if allowed else None)):
            p = tuple(int(k) for k in position)
            found.append(f"[{i}] at {p}: got {g[p]!s}, expected {e[p]!s}")
    return found


try:
    last_output, outputs, new_states = run()
    got = {
        name: [np.asarray(to_numpy(leaf)) for leaf in leaves(part)]
        for name, part in zip(EXPECTED, (last_output, outputs, new_states))
    }
except Exception as error:  # the contract defines a result here: a crash is a divergence
    traceback.print_exc()
    print(f"CRASH: {type(error).__name__}: {error}")
    raise SystemExit(1)

failed = False
for name, expected in EXPECTED.items():
    found = differences(got[name], expected, ALLOWED.get(name))
    failed |= bool(found)
    print(f"{name}: {'DIFFERS' if found else 'agrees'}")
    for line in found[:SHOWN]:
        print(f"  {name}{line}")
    if len(found) > SHOWN:
        print(f"  ... and {len(found) - SHOWN} more")
raise SystemExit(1 if failed else 0)
"""


def function_script(example, backend, mode, expected, title=None):
    """Standalone source running `example` through `backend`'s `rnn` in `mode` and
    comparing with `expected` (the reference's Result): exit 1 while they differ."""
    if mode not in backend.modes:
        raise CaseError(f"{backend.name} has no mode {mode!r}; modes: {', '.join(backend.modes)}")
    arguments = example.call_arguments()
    theano = backend.ops == "theano"
    if theano:
        _check_keras2_options(backend, arguments)
    impl = hasattr(backend, "impl_target")
    framework = FRAMEWORKS[backend.ops]
    # The TensorFlow, JAX and Theano adapters pass only the data the example has; the
    # others (and --impl) pass every data argument, None included.
    present_only = not impl and backend.ops in ("tensorflow", "jax", "theano", "keras")
    names = [n for n in DATA_ARGUMENTS if arguments[n] is not None or not present_only]
    lines = _header(backend, mode, title)
    lines += _imports(backend, framework, _has_non_finite(example, expected))
    lines += ["", "", render_weights(example.spec, "WEIGHTS"), "", ""]
    lines += [render_step(example.spec, "step", "W", ns=framework["ns"], weights_argument=True), "", ""]
    lines += [f"{n} = {_literal(arguments[n])}" for n in names if arguments[n] is not None]
    static = THEANO_STATIC if theano else STATIC_OPTIONS
    lines.append(f"OPTIONS = dict({', '.join(f'{n}={arguments[n]!r}' for n in static)})")
    lines += ["", "", "def loop(data, W):", "    return rnn(lambda x, states: step(x, states, W), **data, **OPTIONS)", "", ""]
    if theano:
        lines += _theano_run(arguments, names)
    elif backend.ops == "keras":
        lines += openvino_run(mode, arguments, names, _data_source)
    else:
        to_tensor = IMPL_TO_TENSOR.get(backend.ops, framework["to_tensor"]) if impl else framework["to_tensor"]
        lines += _run(backend, mode, arguments, names, to_tensor)
    lines += ["", "", *_expected(example, expected), FOOTER]
    return "\n".join(lines)


def _check_keras2_options(backend, arguments):
    """Keras 2.3.1's rnn cannot express the options it lacks: refuse, as its adapter does."""
    for option, default in DEFAULTS_OF_MISSING_OPTIONS.items():
        if arguments[option] != default:
            raise CaseError(f"{backend.name}: Keras 2.3.1's rnn has no {option!r}; it can only run with {option}={default}")


def _header(backend, mode, title):
    """The comments that say what this is, and Keras 3's backend choice before any import."""
    lines = comment_lines(title)
    lines.append("# Expected values are the contract's (rnn-conformance's NumPy reference) for this input.")
    who = "--impl" if hasattr(backend, "impl_target") else backend.name
    lines += comment_lines(f"{_target(backend)} called as rnn-conformance's {who} adapter calls it in mode {mode!r};")
    lines.append("# exits 1 while the results differ from the expected values (or it crashes), 0 once they agree.")
    if _target(backend).startswith("keras.src."):
        name = getattr(backend, "keras_backend", backend.ops)
        keras_backend = f'os.environ["KERAS_BACKEND"] = "{name}"  # Keras 3 on this framework only'
        return lines + ["import os", "import traceback", "", keras_backend]
    return lines + ["import traceback", ""]


def _imports(backend, framework, non_finite):
    """The framework, the loop under test, and the helpers the step and data need."""
    module, function = _target(backend).split(":")
    if hasattr(backend, "impl_target"):  # the user's names: string literals, never code
        lines = [
            "import importlib",
            "import os",
            "import sys",
            "",
            framework["imports"],
            "",
            "sys.path.insert(0, os.getcwd())  # the loop's module is found from where this runs, as with python -m",
            f"rnn = getattr(importlib.import_module({module!r}), {function!r})",
        ]
    else:
        alias = "" if function == "rnn" else " as rnn"
        lines = [framework["imports"], f"from {module} import {function}{alias}"]
    if non_finite:
        lines.append("from numpy import inf, nan  # non-finite values in the data below")
    lines += ["", ""]
    if framework["helpers"]:
        lines += [framework["helpers"], "", ""]
    return lines + [f"to_numpy = {framework['to_numpy']}"]


def _target(backend):
    """"module:function" of the loop under test."""
    if hasattr(backend, "impl_target"):
        return backend.impl_target
    if getattr(backend, "rnn_path", None):
        return backend.rnn_path
    if backend.name in INLINE_TARGETS:
        return INLINE_TARGETS[backend.name]
    return f"{backend.rnn.__module__}:{backend.rnn.__name__}"  # a NumPy loop (NumpyFunctionBackend)


def _run(backend, mode, arguments, names, to_tensor):
    """`run()`: the data converted as the adapter converts them, the loop called in `mode`."""
    weights = f"[{to_tensor}(w) for w in WEIGHTS]" if to_tensor else "WEIGHTS"
    body = [f"    data = {_data_source(arguments, names, to_tensor)}", f"    weights = {weights}"]
    call = "loop(data, weights)"
    if mode in ("function", "xla"):
        jit = ", jit_compile=True" if mode == "xla" else ""
        body.append(f"    data_signature = {_tf_signature(arguments, names)}")
        body.append("    signature = [data_signature, [tf.TensorSpec(w.shape, w.dtype) for w in weights]]")
        call = f"tf.function(loop, input_signature=signature{jit})(data, weights)"
    elif mode == "jit":
        call = "jax.jit(loop)(data, weights)"
    if backend.ops == "numpy":  # NaN or inf at masked steps are legitimate inputs (R9)
        body += ["    with np.errstate(all='ignore'):", f"        return {call}"]
    else:
        body.append(f"    return {call}")
    return ["def run():", '    """rnn on the data, converted and wrapped as the adapter does in this mode."""', *body]


def _theano_run(arguments, names):
    """`run()`: the loop built on Theano variables and compiled with `theano.function`,
    as the keras2-theano adapter builds it, then called on the NumPy data."""
    return [
        "def variable(a):",
        '    """A Theano variable like `a` with no broadcastable dimension (B, T or a size may be 1)."""',
        "    return T.TensorType(a.dtype.name, (False,) * a.ndim)()",
        "",
        "",
        "def run():",
        '    """rnn built symbolically, compiled with theano.function and called on the data."""',
        f"    data = {_data_source(arguments, names, None)}",
        f"    symbolic = {_data_source(arguments, names, 'variable')}",
        "    weights = [variable(w) for w in WEIGHTS]",
        "    last_output, outputs, new_states = loop(symbolic, weights)",
        "    parts = [leaves(last_output), leaves(outputs), leaves(list(new_states))]",
        "    variables = leaves(list(symbolic.values())) + weights",
        '    function = theano.function(variables, sum(parts, []), on_unused_input="ignore")',
        "    values = iter(function(*leaves(list(data.values())), *WEIGHTS))",
        "    return [[next(values) for _ in part] for part in parts]",
    ]


def _data_source(arguments, names, convert):
    """`dict(inputs=..., ...)` of the named data arguments, each converted by `convert`."""
    items = []
    for name in names:
        value = arguments[name]
        if value is None:
            source = "None"
        elif convert is None:
            source = name
        elif isinstance(value, tuple):
            source = f"tuple({convert}(a) for a in {name})"
        elif isinstance(value, list):
            source = f"[{convert}(a) for a in {name}]"
        else:
            source = f"{convert}({name})"
        items.append(f"{name}={source}")
    return _dict(items)


def _dict(items):
    """`dict(...)` source, one item a line, for the body of `run()`."""
    return "dict(\n" + "".join(f"        {item},\n" for item in items) + "    )"


def _tf_signature(arguments, names):
    """The data's `tf.TensorSpec`s as the TensorFlow adapters trace them: B and T unknown
    (T pinned when unrolled) for inputs and mask, B unknown for states and constants."""
    time_axis = 0 if arguments["time_major"] else 1

    def spec(a, name):
        shape = [None] + list(a.shape[1:])
        if name in ("inputs", "mask"):
            shape[1] = None
            if arguments["unroll"]:
                shape[time_axis] = a.shape[time_axis]
        return f"tf.TensorSpec({shape!r}, tf.{a.dtype.name})"

    return _dict([f"{n}={_nest(arguments[n], lambda a, n=n: spec(a, n))}" for n in names])


def _nest(value, leaf):
    """Source of a tuple or list of arrays, or of one array, with `leaf(array)` for each."""
    if isinstance(value, tuple):
        return f"({', '.join(leaf(a) for a in value)}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        return f"[{', '.join(leaf(a) for a in value)}]"
    return leaf(value)


def _literal(value):
    """NumPy source of a data argument: an array, or a tuple or list of arrays."""
    return _nest(value, array_source)


def _expected(example, expected):
    """The contract's leaves per part, and the suite's tolerances for the example's dtype:
    in float16 and bfloat16 the largest difference allowed at each value (CONTRACT.md
    section 3: it grows with the steps a value was carried through)."""
    low = precision.applies_to(example)
    tolerance = TOLERANCES["float32" if low else example.dtype]
    lines = [
        f"RTOL, ATOL = {tolerance['rtol']!r}, {tolerance['atol']!r}  # rnn-conformance's tolerances for {example.dtype}",
        f"SHOWN = {MAX_POSITIONS_SHOWN}  # differing positions printed per part",
        _positions_comment(example),
        "EXPECTED = {",
    ]
    for part in PARTS:
        leaves = optree.tree_leaves(getattr(expected, part))
        lines.append(f"    {part!r}: [{', '.join(array_source(a) for a in leaves)}],")
    lines.append("}")
    if not low:
        return lines + ["ALLOWED = {}  # RTOL and ATOL everywhere"]
    lines += [f"# {example.dtype}: the largest |got - expected| allowed at each value (CONTRACT.md section 3)", "ALLOWED = {"]
    # (contract values given by the caller carry no bounds: the reference's own are used)
    bounds = getattr(expected, "allowed", None) or precision.expected_in_low_precision(example).allowed
    for part in PARTS:
        allowed = optree.tree_leaves(getattr(bounds, part))
        lines.append(f"    {part!r}: [{', '.join(array_source(np.asarray(a, np.float64)) for a in allowed)}],")
    return lines + ["}"]


def _positions_comment(example):
    """How to read a printed position: the axes of `outputs` depend on time_major."""
    axes = "(step, sample, ...)" if example.options.time_major else "(sample, step, ...)"
    return f"# Positions index each array: outputs by {axes} with steps in processing order, the rest by (sample, ...)."


def _has_non_finite(example, expected):
    """Whether NumPy prints `nan` or `inf` in the literals (the script then imports them)."""
    arrays = [*example.inputs, *example.initial_states, *example.constants]
    return has_non_finite(arrays + [a for part in PARTS for a in optree.tree_leaves(getattr(expected, part))])
