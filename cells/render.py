"""Print a cell spec as short, standalone NumPy source: the step function of a bug report.

The printed function computes exactly what `cells.build.make_step(structure, NumpyOps(),
weights)` computes (the suite's own tests check this), so a reproducer can paste it
instead of importing this project.
"""

from dataclasses import asdict
from math import prod

import numpy as np

from cells.build import echo_repeats

_ACTIVATION = {
    "tanh": "{ns}.tanh({x})",
    "linear": "{x}",
    "sigmoid": "1 / (1 + {ns}.exp(-{x}))",
}


# The input transforms (cells.spec.INPUT_TRANSFORMS), spelled as cells.ops spells them.
_TRANSFORM = {
    "none": "{x}",
    "log": "{ns}.log({x})",
    "sqrt": "{ns}.sqrt({x})",
    "reciprocal": "1 / {x}",
}


def _act(name, x, ns):
    return _ACTIVATION[name].format(ns=ns, x=x)


def _matmul_source(ns, dtype):
    """`ns.matmul(a, w)` as source; NumPy's bfloat16 matmul returns float32, so there it
    is rounded back to the weights' dtype, as cells/ops.py's NumpyOps does."""
    if ns == "np" and dtype == "bfloat16":
        return lambda a, w: f"np.matmul({a}, {w}).astype({w}.dtype)"
    return lambda a, w: f"{ns}.matmul({a}, {w})"


def dtype_source(name):
    """A dtype as source: `np.float32`, or `ml_dtypes.bfloat16` (NumPy has none; the
    script then imports ml_dtypes, `needs_ml_dtypes`)."""
    return "ml_dtypes.bfloat16" if name == "bfloat16" else f"np.{name}"


def needs_ml_dtypes(arrays=(), dtypes=()):
    """Whether a script holding these arrays or cells of these dtypes names ml_dtypes."""
    return "bfloat16" in {*dtypes, *(str(np.asarray(a).dtype) for a in arrays)}


def render_weights(spec, name="W"):
    """`W = [...]`: the weight arrays as literal NumPy source (after `import ml_dtypes`
    where they are bfloat16)."""
    dtype = spec.structure.dtype
    lines = ["import ml_dtypes  # bfloat16 for NumPy"] if needs_ml_dtypes(dtypes=(dtype,)) else []
    lines += [f"{name} = ["]
    for values, shape in zip(spec.weights, spec.structure.weight_shapes()):
        literal = ", ".join(repr(float(v)) for v in values)
        lines.append(f"    np.array([{literal}], dtype={dtype_source(dtype)}).reshape({tuple(int(n) for n in shape)!r}),")
    lines.append("]")
    return "\n".join(lines)


def render_step(spec, name="step", weights_name="W", ns="np", weights_argument=False):
    """The step function `name(inputs, states_and_constants)` as source over the array
    namespace `ns` (NumPy's `np`, or `ops` for `keras.ops`: only functions both have).
    With `weights_argument`, the weights are a third argument instead of a global. A cell
    with an input transform also uses `ns.log` or `ns.sqrt` (reciprocal is `1 / x`)."""
    s = spec.structure
    n_states = len(s.states)
    body = []
    xs = [f"x{i}" for i in range(len(s.input_shapes))]
    states = [f"s{k}" for k in range(n_states)]
    consts = [f"c{k}" for k in range(len(s.constant_shapes))]
    body.append(f"{_tuple_target(xs)} = inputs" if s.nested_inputs else "x0 = inputs")
    if states:
        body.append(f"{_tuple_target(states)} = states_and_constants[:{n_states}]")
    if consts:
        body.append(f"{_tuple_target(consts)} = states_and_constants[{n_states}:]")

    flat_inputs = [f"{ns}.reshape({x}, (-1, {prod(shape)}))" for x, shape in zip(xs, s.input_shapes)]
    # The input transform reads the first leaf only; "echo" outputs below keep the raw inputs.
    pieces = [_TRANSFORM[s.input_transform].format(ns=ns, x=flat_inputs[0])] + flat_inputs[1:] + [
        f"{ns}.reshape({v}, (-1, {prod(spec_.shape)}))" for v, spec_ in zip(states, s.states)
    ] + [f"{ns}.reshape({c}, (-1, {prod(shape)}))" for c, shape in zip(consts, s.constant_shapes)]
    body.append(f"u = {ns}.concatenate([{', '.join(pieces)}], axis=-1)")
    matmul = _matmul_source(ns, s.dtype)
    body.append("z = " + _act(s.hidden_activation, f"({matmul('u', f'{weights_name}[0]')} + {weights_name}[1])", ns))

    w = 2
    new_states = []
    for k, st in enumerate(s.states):
        if st.kind == "counter":
            body.append(f"new_s{k} = s{k} + 1")
        else:
            act = _act(st.activation, matmul("z", f"{weights_name}[{w}]"), ns)
            body.append(f"new_s{k} = {ns}.reshape({act}, (-1,) + {st.shape!r})")
            w += 1
        new_states.append(f"new_s{k}")

    outs = []
    for j, out in enumerate(s.outputs):
        if out.kind == "state0":
            body.append(f"out{j} = new_s0")
        elif out.kind == "echo":
            reps = echo_repeats(s, out)
            body.append(
                f"out{j} = {ns}.reshape({ns}.concatenate([{', '.join(flat_inputs)}] * {reps}, axis=-1), (-1,) + {out.shape!r})"
            )
        else:
            act = _act(out.activation, matmul("z", f"{weights_name}[{w}]"), ns)
            body.append(f"out{j} = {ns}.reshape({act}, (-1,) + {out.shape!r})")
            w += 1
        outs.append(f"out{j}")
    output = f"({', '.join(outs)},)" if s.nested_output else outs[0]
    body.append(f"return {output}, [{', '.join(new_states)}]")
    arguments = "inputs, states_and_constants" + (f", {weights_name}" if weights_argument else "")
    return f"def {name}({arguments}):\n" + "\n".join("    " + line for line in body)


def render_cell(spec):
    """Weights and step function together, ready to exec after `import numpy as np`."""
    return render_weights(spec) + "\n\n\n" + render_step(spec) + "\n"


def _tuple_target(names):
    return ", ".join(names) + ("," if len(names) == 1 else "")


def array_source(a):
    """An array as `np.array(<literal>, dtype=...)` (non-finite values print as nan / inf)."""
    a = np.asarray(a)
    body = np.array2string(a, separator=", ", threshold=10**6, floatmode="unique")
    return f"np.array({body}, dtype={'bool' if a.dtype == bool else dtype_source(str(a.dtype))})"


def has_non_finite(arrays):
    """Whether `array_source` prints `nan` or `inf` for one of these arrays."""
    return any(not np.isfinite(np.asarray(a, np.float64)).all() for a in map(np.asarray, arrays) if a.dtype.kind in "fV")


def example_source(example):
    """Standalone NumPy source that rebuilds a function example's cell, data and options."""
    arrays = [*example.inputs, *example.initial_states, *example.constants]
    lines = ["import numpy as np"] + (["import ml_dtypes  # bfloat16 for NumPy"] if needs_ml_dtypes(arrays) else [])
    if has_non_finite(arrays):
        lines.append("from numpy import inf, nan  # non-finite values in the data below")
    lines += ["", render_cell(example.spec)]
    for name, group in (("inputs", example.inputs), ("initial_states", example.initial_states), ("constants", example.constants)):
        lines.append(f"{name} = [{', '.join(array_source(a) for a in group)}]")
    lines.append(f"mask = {'None' if example.mask is None else array_source(example.mask)}")
    lines.append(f"options = {asdict(example.options)!r}")
    return "\n".join(lines)


def comment_lines(text):
    """`text` as `# ...` comment lines, whatever it holds: characters that are not
    printable (a line break Python knows but `splitlines` does not, a NUL) are escaped,
    so nothing in a title can end the comment and become code."""
    escaped = "".join(c if c.isprintable() or c == "\n" else ascii(c)[1:-1] for c in (text or "").replace("\r\n", "\n"))
    return [f"# {line}" for line in escaped.split("\n")] if text else []
