"""A built-in Keras cell as data: SimpleRNN, LSTM, GRU, ConvLSTM1D or ConvLSTM2D (issue 41).

A `BuiltinCellStructure` stands where the suite's own `CellStructure` stands in a layer
example (cells/layer_example.py), as a user's cell does (cells/user_cell.py): it has the
shapes the layer properties, the facts and the comparisons read, and its weight shapes
are the layer's own (`layer.cell.get_weights()`: kernel, recurrent kernel, bias), so a
`CellSpec` over it draws the weights every row and the reference run. Its step is the
literal reference of conformance/contract/builtin_cells.py, not cells.build.make_step.

The layer it names is built by conformance/backends/layer_worker/builtin_side.py, on the
path the example's `LayerOptions.path` asks for: "own" (the layer class as a user writes
it, `use_cudnn="auto"` in Keras 3: the backend's own kernel where it takes one) or
"generic" (the generic `RNN` loop: `use_cudnn=False`, or `RNN(LSTMCell(...))` where a
Keras has no such switch).
"""

from dataclasses import dataclass
from math import prod

KINDS = ("SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D")
CONV_RANK = {"ConvLSTM1D": 1, "ConvLSTM2D": 2}
# Activations every Keras the suite tests accepts by name and computes alike (Keras 3's
# hard_sigmoid is not Keras 2's; gelu's default approximation differs; sparsemax is wrong
# in Keras 3.15.1: tests/contract/test_builtin_cells.py). The cells' defaults first.
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "softsign", "softplus", "elu", "selu")
PATHS = ("own", "generic")  # an example's, drawn (cells/builtin_strategies.py)


@dataclass(frozen=True)
class Shape:
    """A state's or output's per-sample shape; `kind` "state0": the built-in cells emit
    their first state (h) as their output, which is why keras#11472 hid behind them."""

    shape: tuple
    kind: str = "builtin"


@dataclass(frozen=True)
class BuiltinCellStructure:
    kind: str  # KINDS
    units: int  # units, or filters for ConvLSTM
    input_shape: tuple  # per step: (features,), or (*spatial, channels) for ConvLSTM
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"  # (SimpleRNN has none)
    use_bias: bool = True
    reset_after: bool = True  # GRU only
    kernel_size: tuple = ()  # ConvLSTM only: one per spatial axis
    strides: tuple = ()
    dilation_rate: tuple = ()
    padding: str = "valid"
    dtype: str = "float32"
    # What the layer code reads of a CellStructure, fixed for a built-in cell.
    constant_shapes: tuple = ()
    input_transform: str = "none"
    nested_inputs: bool = False
    nested_output: bool = False

    @property
    def input_shapes(self):
        return (tuple(self.input_shape),)

    @property
    def rank(self):
        return CONV_RANK.get(self.kind, 0)

    @property
    def gates(self):
        return {"SimpleRNN": 1, "GRU": 3}.get(self.kind, 4)

    @property
    def state_shape(self):
        """h (and c): (units,), or ConvLSTM's (*output spatial, filters)."""
        if not self.rank:
            return (self.units,)
        spatial = [conv_output_size(n, k, s, d, self.padding)
                   for n, k, s, d in zip(self.input_shape[:-1], self.kernel_size, self.strides, self.dilation_rate)]
        return (*spatial, self.units)

    @property
    def states(self):
        count = 2 if self.kind in ("LSTM", "ConvLSTM1D", "ConvLSTM2D") else 1
        return tuple(Shape(self.state_shape) for _ in range(count))

    @property
    def outputs(self):
        return (Shape(self.state_shape, "state0"),)

    def weight_shapes(self):
        """kernel, recurrent kernel, bias (none without use_bias) as the layer stores them."""
        width = self.gates * self.units
        if self.rank:
            shapes = [(*self.kernel_size, self.input_shape[-1], width), (*self.kernel_size, self.units, width)]
        else:
            shapes = [(self.input_shape[0], width), (self.units, width)]
        if self.use_bias:
            shapes.append((2, width) if self.kind == "GRU" and self.reset_after else (width,))
        return shapes

    def families(self):
        return {"builtin", f"builtin-{self.kind.lower()}"}

    def layer_arguments(self):
        """The layer's constructor arguments (literals only: a script renders them)."""
        arguments = {"activation": self.activation, "use_bias": self.use_bias}
        if self.kind != "SimpleRNN":
            arguments["recurrent_activation"] = self.recurrent_activation
        if self.kind == "GRU":
            arguments["reset_after"] = self.reset_after
        if self.rank:
            arguments.update(kernel_size=tuple(self.kernel_size), strides=tuple(self.strides),
                             dilation_rate=tuple(self.dilation_rate), padding=self.padding)
        return arguments


def conv_output_size(size, kernel, stride, dilation, padding):
    """Keras' output length of one spatial axis (compute_conv_output_shape)."""
    if padding == "valid":
        return (size - dilation * (kernel - 1) - 1) // stride + 1
    return (size - 1) // stride + 1


def is_builtin_cell(structure):
    return isinstance(structure, BuiltinCellStructure)


def is_conv(structure):
    return is_builtin_cell(structure) and structure.rank > 0


def weight_count(structure):
    return sum(prod(s) for s in structure.weight_shapes())


_FIELDS = ("kind", "units", "input_shape", "activation", "recurrent_activation", "use_bias", "reset_after",
           "kernel_size", "strides", "dilation_rate", "padding", "dtype")


def structure_to_dict(structure):
    data = {name: getattr(structure, name) for name in _FIELDS}
    for name in ("input_shape", "kernel_size", "strides", "dilation_rate"):
        data[name] = list(data[name])
    return {"builtin_cell": data}


def structure_from_dict(data):
    """A structure from `structure_to_dict`'s dict, after cells/case_schema.py checked it."""
    fields = dict(data["builtin_cell"])
    for name in ("input_shape", "kernel_size", "strides", "dilation_rate"):
        fields[name] = tuple(fields[name])
    return BuiltinCellStructure(**fields)
