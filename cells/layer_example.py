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


@dataclass(frozen=True)
class LayerOptions:
    """What the `RNN` layer has beyond the `rnn` options."""

    return_state: bool = False
    initial_state: bool = False  # L2: pass `initial_state`, or let the layer use zeros
    state_size_as_int: bool = False  # L4: `state_size = n` instead of `[n]` (one state only)
    mask_route: str = "mask-argument"  # L3: `mask=` argument, or a `Masking` layer before it
    bidirectional: bool = False  # L5: wrapped in `Bidirectional` (merge_mode="concat")

    def changed(self, **changes):
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class LayerExample(Example):
    layer: LayerOptions = field(default_factory=LayerOptions)
    # L6: CellSpecs of further cells, each fed the previous cell's output. `initial_states`
    # then holds every cell's states, first cell first.
    stacked: tuple = ()

    @property
    def return_sequences(self):
        return self.options.return_all_outputs

    @property
    def specs(self):
        """Every cell of the layer, first to last."""
        return (self.spec,) + tuple(self.stacked)

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
        return (
            f"LayerExample(B={self.batch}, T={self.steps}, dtype={self.dtype}, mask_family={self.mask_family!r}, "
            f"mask={mask_repr(self.mask)}, {options}{changed_fields(self.layer)}{stacked}"
            f"families={sorted(self.structure.families())})"
        )
