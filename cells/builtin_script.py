"""The lines of a reproducer that build a built-in layer (issue 41) for cells/keras_script.py.

A built-in cell is not rendered as a class: the script builds the layer the example names
(`keras.layers.LSTM(...)` on the path the row ran: `use_cudnn="auto"` or `False` in Keras
3, `RNN(LSTMCell(...))` for the generic path of the Keras 2 lineage), builds it for the
data's shape and sets every cell's weights to the case's. Only literals of validated
values (cells/builtin_cell_schema.py) reach the source, never text from a case.
"""

from cells.render import array_source


def builtin_layer_lines(example, flavor):
    s, o, lo = example.spec.structure, example.options, example.layer
    arguments = ", ".join(f"{name}={value!r}" for name, value in s.layer_arguments().items())
    common = (f"return_sequences={bool(o.return_all_outputs)!r}, return_state={bool(lo.return_state)!r}, "
              f"go_backwards={bool(o.go_backwards)!r}")
    if not s.rank:
        common += f", unroll={bool(o.unroll)!r}"
    if flavor != "keras2":
        common += f", zero_output_for_mask={bool(o.zero_output_for_mask)!r}"
    if flavor == "keras3" and s.kind in ("LSTM", "GRU"):
        common += f", use_cudnn={'auto' if lo.path == 'own' else False!r}"
    if flavor == "keras3" or lo.path == "own" or s.rank:
        layer = f"keras.layers.{s.kind}({s.units!r}, {arguments}, {common})"
    else:
        layer = f"keras.layers.RNN(keras.layers.{s.kind}Cell({s.units!r}, {arguments}), {common})"
    if lo.bidirectional:
        layer = f"keras.layers.Bidirectional({layer}, merge_mode={lo.merge_mode!r})"
    weights = ", ".join(array_source(w) for w in example.spec.weight_arrays())
    halves = "[layer.forward_layer, layer.backward_layer]" if lo.bidirectional else "[layer]"
    return [
        f"W = [{weights}]  # kernel, recurrent kernel, bias, as the layer stores them",
        f"layer = {layer}",
        "layer.build(x.shape)",
        f"for half in {halves}:",
        "    half.cell.set_weights(W)",
        "",
    ]


def builtin_class_lines(part, name, flavor):
    """A class `name` for one built-in layer of a stack (L8), which sets the case's weights
    when it is built (the stack script builds every layer anew for each run): the layer
    class itself on the own path and in Keras 3, else its cell class, for `RNN(cell)`."""
    s, lo = part.spec.structure, part.layer
    own_class = flavor == "keras3" or lo.path == "own" or s.rank
    base, holder = (f"keras.layers.{s.kind}", "self.cell") if own_class else (f"keras.layers.{s.kind}Cell", "self")
    weights = ", ".join(array_source(w) for w in part.spec.weight_arrays())
    # Keras 3 matches build's argument names with the shapes it passes: the RNN's own names.
    arguments = "sequences_shape, initial_state_shape=None" if flavor == "keras3" else "input_shape"
    return [f"{name}_W = [{weights}]  # kernel, recurrent kernel, bias", "", "",
            "@register", f"class {name}({base}):", f"    def build(self, {arguments}):",
            f"        super().build({arguments.replace('=None', '')})", f"        {holder}.set_weights({name}_W)", ""]


def builtin_layer_expression(part, name, flavor, options):
    """The expression of that layer, with the stack script's `options` text."""
    s, lo = part.spec.structure, part.layer
    arguments = ", ".join(f"{key}={value!r}" for key, value in s.layer_arguments().items())
    if flavor == "keras3" and s.kind in ("LSTM", "GRU"):
        options += f", use_cudnn={'auto' if lo.path == 'own' else False!r}"
    if flavor == "keras3" or lo.path == "own" or s.rank:
        return f"{name}({s.units!r}, {arguments}, {options})"
    return f"keras.layers.RNN({name}({s.units!r}, {arguments}), {options})"
