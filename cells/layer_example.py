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


@dataclass(frozen=True)
class LayerOptions:
    """What the `RNN` layer has beyond the `rnn` options."""

    return_state: bool = False
    initial_state: bool = False  # L2: pass `initial_state`, or let the layer use zeros
    state_size_as_int: bool = False  # L4: `state_size = n` instead of `[n]` (one state only)
    mask_route: str = "mask-argument"  # L3: `mask=` argument, or a `Masking` layer before it
    bidirectional: bool = False  # L5: wrapped in `Bidirectional`
    merge_mode: str = "concat"  # Bidirectional's (MERGE_MODES; L5 draws concat, a stack any, L8)

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
