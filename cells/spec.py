"""A random RNN cell as data: frozen, hashable, printable, buildable in any array library.

A cell is split in two so compiled backends can reuse their traced functions:
`CellStructure` (shapes, wiring, activations, dtype) is the part a compiled function
depends on and is the cache key; `CellSpec` adds the weight values, which are passed to
compiled functions as arguments, never baked in.

Every cell computes, per step, with `u` the concatenation of its flattened inputs,
states and constants:

    x0'        = f(flat inputs[0]), f the input transform applied elementwise to the FIRST
                 input leaf only ("none": identity; "log", "sqrt", "reciprocal" = 1 / x);
                 the other leaves enter `u` as they are, and "echo" outputs echo the raw inputs
    u          = concat([x0', flat inputs[1:], flat states, flat constants])
    z          = act_hidden(u @ W_hidden + b_hidden)
    new state k= states[k] + 1                         (kind "counter")
               = reshape(act_k(z @ W_k), state_shape_k) (kind "dense")
    output j   = new_states[0]                          (kind "state0")
               = concat([flat inputs] * repeat_j)       (kind "echo", like the 2018 report)
               = reshape(act_j(z @ W_j), output_shape_j) (kind "dense")

The input transforms make a step that is defined only on part of the line (issue 16,
G3): log and sqrt need x > 0 (sqrt's derivative is infinite at 0), reciprocal x != 0.
A Masking layer's padding value 0.0 lies outside every one of these domains.
"""

from dataclasses import dataclass
from math import prod

import numpy as np

from cells.dtypes import numpy_dtype

ACTIVATIONS = ("tanh", "linear", "sigmoid")
STATE_KINDS = ("dense", "counter")
OUTPUT_KINDS = ("dense", "state0", "echo")
INPUT_TRANSFORMS = ("none", "log", "sqrt", "reciprocal")  # simplest first


def in_domain(transform, values):
    """Elementwise: where the input transform `transform` is defined and differentiable
    (NaN and inf are outside every domain, "none" included)."""
    values = np.asarray(values)
    finite = np.isfinite(values)
    if transform in ("log", "sqrt"):
        return finite & (values > 0)
    if transform == "reciprocal":
        return finite & (values != 0)
    if transform == "none":
        return finite
    raise ValueError(f"unknown input transform {transform!r}; valid: {', '.join(INPUT_TRANSFORMS)}")


@dataclass(frozen=True)
class StateSpec:
    shape: tuple  # per-sample shape, rank 1..3
    kind: str = "dense"
    activation: str = "tanh"


@dataclass(frozen=True)
class OutputSpec:
    shape: tuple  # per-sample shape; derived for "state0" and "echo"
    kind: str = "dense"
    activation: str = "tanh"


@dataclass(frozen=True)
class CellStructure:
    """Everything about a cell except its weight values."""

    input_shapes: tuple  # per-sample shape of each input leaf
    states: tuple  # of StateSpec
    outputs: tuple  # of OutputSpec
    constant_shapes: tuple = ()  # per-sample shape of each constant
    hidden: int = 2
    hidden_activation: str = "tanh"
    dtype: str = "float32"
    input_transform: str = "none"  # one of INPUT_TRANSFORMS, applied to the first input leaf

    @property
    def nested_inputs(self):
        return len(self.input_shapes) > 1

    @property
    def nested_output(self):
        return len(self.outputs) > 1

    @property
    def input_size(self):
        return sum(prod(s) for s in self.input_shapes)

    @property
    def concat_size(self):
        """Width of `u`: flattened inputs, states and constants side by side."""
        shapes = self.input_shapes + tuple(s.shape for s in self.states) + self.constant_shapes
        return sum(prod(s) for s in shapes)

    def weight_shapes(self):
        """Shapes of the weight arrays, in the order `CellSpec.weights` stores them."""
        shapes = [(self.concat_size, self.hidden), (self.hidden,)]
        shapes += [(self.hidden, prod(s.shape)) for s in self.states if s.kind == "dense"]
        shapes += [(self.hidden, prod(o.shape)) for o in self.outputs if o.kind == "dense"]
        return shapes

    def families(self):
        """The named families of the design card this cell belongs to (for coverage)."""
        found = set()
        state_shapes = [s.shape for s in self.states]
        for out in self.outputs:
            if out.kind == "state0":
                found.add("output-is-state0")
            elif state_shapes and out.shape == state_shapes[0]:
                found.add("output-shaped-like-state0")
            if state_shapes and (
                all(prod(out.shape) != prod(s) for s in state_shapes)
                or all(len(out.shape) != len(s) for s in state_shapes)
            ):
                found.add("output-unlike-every-state")
        if len({s for s in state_shapes}) >= 2 and len({len(s) for s in state_shapes}) >= 2:
            found.add("several-states-of-different-ranks")
        if any(len(s) == 3 for s in state_shapes):
            found.add("rank-3-state")
        if any(s.kind == "counter" for s in self.states):
            found.add("counter-state")
        if self.constant_shapes:
            found.add("reads-constants")
        if not self.states:
            found.add("no-state")
        if self.nested_output:
            found.add("nested-output")
        if self.nested_inputs:
            found.add("nested-inputs")
        if self.input_transform != "none":
            found.add(f"input-{self.input_transform}")
        return found


@dataclass(frozen=True)
class CellSpec:
    """A cell structure plus its weight values (flat tuples, so the spec stays hashable)."""

    structure: CellStructure
    weights: tuple  # one flat tuple of floats per entry of structure.weight_shapes()

    def weight_arrays(self):
        return [
            np.asarray(values, dtype=numpy_dtype(self.structure.dtype)).reshape(shape)
            for values, shape in zip(self.weights, self.structure.weight_shapes())
        ]
