"""One drawn test case of the `RNN` layer: a cell example plus the layer's own options.

A `LayerExample` is an `Example` (so the comparison code, the facts and the known-
divergence conditions read it the same way) whose `options` hold what the layer passes
to `rnn`: `go_backwards`, `unroll`, `zero_output_for_mask`, and `return_all_outputs`
standing for `return_sequences` (contract section 2). `layer` holds what only the layer
has. Inputs are one (B, T, F) array; the value at masked steps is `MASK_VALUE` in every
feature and never elsewhere, so a `Masking` layer recovers exactly `mask` (L3).
"""

from dataclasses import dataclass, field, replace

import numpy as np

from cells.example import Example, changed_fields, mask_repr

MASK_VALUE = 0.0
MASK_ROUTES = ("mask-argument", "masking-layer")
# Bidirectional's merge modes that give one sequence, which a further layer can take (L5, L8).
MERGE_MODES = ("concat", "sum", "mul", "ave")
# How the "predict" mode builds a stack of layers (L8); "call" calls each layer eagerly.
STACK_BUILDS = ("functional", "sequential")
# A layer's dtype policy (issue 40): float32, the two mixed policies (float32 variables, a
# low compute dtype) and the low dtypes as plain layer dtypes; the keys of
# conformance/contract/precision.POLICY_COMPUTE_DTYPES, which says what each computes in.
DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "float16", "bfloat16")
# How the suite's cell keeps its weights: one variable per weight, or the weights of its
# dense states and outputs as column slices of one kernel, as an LSTM takes its gates
# (an autocast variable may cast a slice otherwise than the whole).
WEIGHTS_LAYOUTS = ("whole", "sliced")


def dtype_policy_of(example):
    """The dtype policy an example runs under: its layer's, or "float32" for a function
    example (which has no layer) and a layer left at the default."""
    return getattr(getattr(example, "layer", None), "dtype_policy", "float32")


@dataclass(frozen=True)
class LayerOptions:
    """What the `RNN` layer has beyond the `rnn` options."""

    return_state: bool = False
    initial_state: bool = False  # L2: pass `initial_state`, or let the layer use zeros
    state_size_as_int: bool = False  # L4: `state_size = n` instead of `[n]` (one state only)
    mask_route: str = "mask-argument"  # L3: `mask=` argument, or a `Masking` layer before it
    bidirectional: bool = False  # L5: wrapped in `Bidirectional`
    merge_mode: str = "concat"  # Bidirectional's (MERGE_MODES; L5 draws concat, a stack any, L8)
    dtype_policy: str = "float32"  # DTYPE_POLICIES: the layer's and its cells' (a stack stays float32)
    weights_layout: str = "whole"  # WEIGHTS_LAYOUTS
    # A built-in layer's (issue 41; cells/builtin_cell.py PATHS): its own path ("own", as a user
    # writes the layer; the backend's kernel where it takes one) or the generic RNN loop.
    path: str = "own"

    def changed(self, **changes):
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class NextLayer:
    """A further `RNN` layer of a stack (L8), fed the output sequence of the layer before
    it and the mask that layer hands on: its cell, its `rnn` options (`return_all_outputs`
    standing for `return_sequences`), its layer options (`mask_route` unused: its mask is
    handed on) and its drawn initial states (used where `layer.initial_state`)."""

    spec: object  # cells.spec.CellSpec
    options: object  # cells.example.Options
    layer: LayerOptions
    initial_states: tuple

    def alone(self, inputs, mask, family):
        """This layer as a LayerExample of its own, run on `inputs` under `mask`."""
        return LayerExample(spec=self.spec, options=self.options, inputs=(inputs,), initial_states=self.initial_states,
                            constants=(), mask=mask, mask_family=family, layer=self.layer)


@dataclass(frozen=True, eq=False)
class LayerExample(Example):
    layer: LayerOptions = field(default_factory=LayerOptions)
    # L6: CellSpecs of further cells, each fed the previous cell's output. `initial_states`
    # then holds every cell's states, first cell first.
    stacked: tuple = ()
    # L8: further layers (NextLayer), each fed the previous layer's output sequence; this
    # example's own fields are the first layer's. `mask_each_layer`: every further layer is
    # given its mask explicitly (`mask=`, the one L8 says) instead of taking the handed-on
    # one. `stack_build`: how the "predict" mode builds the stack (STACK_BUILDS).
    next_layers: tuple = ()
    mask_each_layer: bool = False
    stack_build: str = "functional"

    @property
    def return_sequences(self):
        return self.options.return_all_outputs

    @property
    def specs(self):
        """Every cell of the (first) layer, first to last."""
        return (self.spec,) + tuple(self.stacked)

    def first_layer(self):
        """The first layer of a stack alone (L8): this example without its further layers."""
        return self.changed(next_layers=(), mask_each_layer=False, stack_build="functional")

    def changed(self, **changes):
        """Like `Example.changed`; `layer=` may also be a dict of layer option changes."""
        if isinstance(changes.get("layer"), dict):
            changes["layer"] = self.layer.changed(**changes["layer"])
        return super().changed(**changes)

    def initial_state_values(self):
        """L2: the states the layer starts from, every cell's in order: given, or zeros."""
        given = list(self.initial_states)
        return given if self.layer.initial_state else [np.zeros_like(s) for s in given]

    def states_per_cell(self, states):
        """Split a flat list of states into one list per cell (for stacked cells)."""
        split, start = [], 0
        for spec in self.specs:
            split.append(list(states[start : start + len(spec.structure.states)]))
            start += len(spec.structure.states)
        return split

    def __repr__(self):
        """Like `Example`'s: the layer's options (and the rnn options it sets) only where
        they differ from their defaults."""
        stacked = f"stacked cells={len(self.stacked)}, " if self.stacked else ""
        options = changed_fields(self.options).replace("return_all_outputs=", "return_sequences=")
        further = "".join(f", then layer {k + 2}: {_layer_repr(n.options, n.layer)}" for k, n in enumerate(self.next_layers))
        if self.next_layers:
            further += f", {'each layer masked explicitly, ' if self.mask_each_layer else ''}stack_build={self.stack_build!r}"
        return (
            f"LayerExample(B={self.batch}, T={self.steps}, dtype={self.dtype}, mask_family={self.mask_family!r}, "
            f"mask={mask_repr(self.mask)}, {options}{changed_fields(self.layer)}{stacked}"
            f"families={sorted(self.structure.families())}{further})"
        )


def _layer_repr(options, layer):
    text = (changed_fields(options) + changed_fields(layer)).replace("return_all_outputs=", "return_sequences=")
    return "(" + (text.rstrip(", ") or "defaults") + ")"


def dense_columns(structure):
    """The (start, stop) columns of each dense state and output weight in the one kernel
    of the "sliced" layout, in weight order; every such weight has `hidden` rows."""
    shapes, start, columns = structure.weight_shapes()[2:], 0, []
    for _, width in shapes:
        columns.append((start, start + width))
        start += width
    return columns


def packed_weights(structure, arrays, layout):
    """A cell's weight arrays as its variables hold them: as they are ("whole"), or the
    dense ones side by side in one kernel ("sliced"; as they are when it has none)."""
    arrays = list(arrays)
    if layout == "whole" or len(arrays) == 2:
        return arrays
    return arrays[:2] + [np.concatenate(arrays[2:], axis=1)]


def unpacked_weights(structure, arrays, layout):
    """The inverse of `packed_weights`: one array per weight, in weight order (what L7
    and the training step compare with the reference, weight by weight)."""
    arrays = list(arrays)
    if layout == "whole" or len(arrays) == 2:
        return arrays
    return arrays[:2] + [arrays[2][:, a:b] for a, b in dense_columns(structure)]
