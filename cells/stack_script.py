"""A stack of layers (L8) as a standalone script for the Keras it failed on: the bug report.

The script builds every layer as the suite did (each cell a Keras cell class, `RNN`,
`Bidirectional` with its merge mode), runs the stack twice in the failing mode, as built
(the mask enters the first layer by its route and each layer hands it on) and with every
later layer given, as its `mask=`, the mask L8 says it is handed, prints both, and exits 1
while they differ (or only one of them crashes), 0 once they agree.
"""

from cells.builtin_cell import is_builtin_cell
from cells.builtin_script import builtin_class_lines, builtin_layer_expression
from cells.keras_script import FLAT_SOURCE, render_keras_cell, script_head
from cells.layer_example import MASK_VALUE
from cells.render import array_source, has_non_finite
from cells.user_cell import is_user_cell, render_user_cell

_COMPARE = FLAT_SOURCE + """

def outcome(explicit):
    try:
        return flat(run(explicit)), None
    except Exception as error:  # a crash is an outcome too: the other run may not meet it
        return None, f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"


(as_built, as_built_crash), (given, given_crash) = outcome(False), outcome(True)
if as_built_crash or given_crash:
    agrees = as_built_crash == given_crash
    print(f"as built: {as_built_crash or 'ran'}; given the masks L8 says: {given_crash or 'ran'}")
else:
    agrees = len(as_built) == len(given) and all(
        a.shape == g.shape and np.allclose(a, g, rtol=1e-4, atol=1e-5, equal_nan=True) for a, g in zip(as_built, given))
    for name, a, g in zip(["output"] + [f"state{i}" for i in range(len(given) - 1)], as_built, given):
        print(f"{name}: as built {a.tolist()}, given the masks L8 says {g.tolist()}")
print("the stack agrees with itself given the masks L8 says" if agrees else "the stack DIFFERS from itself given the masks L8 says (L8)")
raise SystemExit(0 if agrees else 1)
"""


def stack_script(example, handed, flavor="keras3", mode="call", title=None, keras_backend=None):
    """Standalone source of a stack example (`example.next_layers`) on one Keras in one
    mode; `handed`: the mask L8 says each later layer is handed (the reference's)."""
    lines = script_head(flavor, mode, title, keras_backend)
    parts = [example.first_layer()] + [n.alone(example.inputs[0], None, "none") for n in example.next_layers]
    states = [list(example.initial_states)] + [list(n.initial_states) for n in example.next_layers]
    if has_non_finite([example.inputs[0], *(s for layer in states for s in layer)]):
        lines.append("from numpy import inf, nan  # non-finite values in the data below")
    lines += ["", ""]
    if is_user_cell(example.spec.structure):
        lines += ["import sys"]
    for k, part in enumerate(parts):
        if is_user_cell(part.spec.structure):  # --cell: the user's own class, first in the stack
            lines += [render_user_cell(part.spec, f"Cell{k}"), ""]
        elif is_builtin_cell(part.spec.structure):  # issue 41: a built-in layer, its weights set when built
            lines += builtin_class_lines(part, f"Cell{k}", flavor)
        else:
            lines += [render_keras_cell(part.spec, f"Cell{k}", part.layer.state_size_as_int, flavor), ""]
    lines.append(f"x = {array_source(example.inputs[0])}")
    lines.append(f"mask = {array_source(example.mask)}")
    lines.append("# The mask L8 says each later layer is handed: the input mask of the layer before it, reversed")
    lines.append("# after a go_backwards layer (its output sequence is in the order it processed the steps).")
    lines.append(f"handed = [{', '.join(array_source(m) for m in handed)}]")
    lines.append("initial_states = [" + ", ".join(
        f"[{', '.join(array_source(s) for s in layer_states)}]" if part.layer.initial_state else "None"
        for part, layer_states in zip(parts, states)) + "]")
    lines += ["", "", "def layers():", '    """A new copy of every layer of the stack, first to last."""', "    return ["]
    lines += [f"        {_layer_expression(k, part, flavor)}," for k, part in enumerate(parts)]
    lines += ["    ]", "", ""]
    lines += _run_lines(example, flavor, mode)
    return "\n".join(lines) + "\n" + _COMPARE


def _layer_expression(k, part, flavor):
    o, lo = part.options, part.layer
    # Only literals of validated values (cells/case_schema.py, cells/stack_schema.py).
    options = (f"return_sequences={bool(o.return_all_outputs)!r}, return_state={bool(lo.return_state)!r}, "
               f"go_backwards={bool(o.go_backwards)!r}, unroll={bool(o.unroll)!r}")
    if flavor != "keras2":
        options += f", zero_output_for_mask={bool(o.zero_output_for_mask)!r}"
    if is_builtin_cell(part.spec.structure):
        layer = builtin_layer_expression(part, f"Cell{k}", flavor, options)
    else:
        layer = f"keras.layers.RNN(Cell{k}(), {options})"
    return f"keras.layers.Bidirectional({layer}, merge_mode={lo.merge_mode!r})" if lo.bidirectional else layer


def _run_lines(example, flavor, mode):
    route = example.layer.mask_route
    if mode == "call":
        lines = ["def run(explicit):",
                 '    """Each layer called eagerly on the previous one\'s output tensor."""',
                 "    h, kwargs = to_tensor(x), {}"]
        lines += [f"    h = keras.layers.Masking({MASK_VALUE!r})(h)"] if route == "masking-layer" else ["    kwargs['mask'] = to_tensor(mask)"]
        lines.append("    for k, layer in enumerate(layers()):")
        lines.append("        if k and explicit:")
        lines.append("            kwargs['mask'] = to_tensor(handed[k - 1])")
        lines.append("        if initial_states[k] is not None:")
        lines.append("            kwargs['initial_state'] = [to_tensor(s) for s in initial_states[k]] * (2 if isinstance(layer, keras.layers.Bidirectional) else 1)")
        lines.append("        h, kwargs = layer(h, **kwargs), {}")
        return lines + ["    return h"]
    unrolled = any(p.unroll for p in [example.options] + [n.options for n in example.next_layers])
    shape = f"({example.steps if unrolled else None!r},) + x.shape[2:]"
    lines = ["def run(explicit):"]
    if example.stack_build == "sequential":
        lines += ['    """As built: a Sequential model behind a Masking layer; given the masks, a functional Model."""',
                  "    if not explicit:"]
        start = f"[keras.Input(shape={shape}), keras.layers.Masking({MASK_VALUE!r})]" if flavor == "keras3" else \
            f"[keras.layers.Masking({MASK_VALUE!r}, input_shape={shape})]"
        lines += [f"        return keras.Sequential({start} + layers()).predict_on_batch(x)"]
    else:
        lines += ['    """A functional Model: every mask, state and input an Input; run with predict_on_batch."""']
    lines += [f"    x_in = keras.Input(shape={shape})", "    inputs, data, kwargs, h = [x_in], [x], {}, x_in"]
    if route == "masking-layer":
        lines.append(f"    h = keras.layers.Masking({MASK_VALUE!r})(x_in)")
    else:
        lines += [f"    kwargs['mask'] = keras.Input(shape=({example.steps if unrolled else None!r},), dtype='bool')",
                  "    inputs.append(kwargs['mask'])", "    data.append(mask)"]
    lines += ["    for k, layer in enumerate(layers()):",
              "        if k and explicit:",
              f"            kwargs['mask'] = keras.Input(shape=({example.steps if unrolled else None!r},), dtype='bool')",
              "            inputs.append(kwargs['mask'])",
              "            data.append(handed[k - 1])",
              "        if initial_states[k] is not None:",
              "            s_in = [keras.Input(shape=s.shape[1:]) for s in initial_states[k]]",
              "            inputs += s_in",
              "            data += initial_states[k]",
              "            kwargs['initial_state'] = s_in * (2 if isinstance(layer, keras.layers.Bidirectional) else 1)",
              "        h, kwargs = layer(h, **kwargs), {}",
              "    return keras.Model(inputs, h).predict_on_batch(data)"]
    return lines
