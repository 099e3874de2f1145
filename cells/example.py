"""One drawn test case: a cell, the loop options, and the data, all batch-major NumPy.

The same `Example` is handed to the reference and to every backend adapter; both call the
`rnn` signature with `example.call_arguments()`, so they see identical arguments (already
transposed when `time_major` is set).
"""

from dataclasses import dataclass, fields, replace

import numpy as np

MASK_FORMATS = ("bool", "int32", "float", "bool-trailing-axis")


@dataclass(frozen=True)
class Options:
    """Every option of the `rnn` signature except the data itself."""

    go_backwards: bool = False
    unroll: bool = False
    time_major: bool = False
    zero_output_for_mask: bool = False
    return_all_outputs: bool = True
    pass_input_length: bool = False  # R12: pass input_length=T instead of None
    mask_format: str = "bool"  # R8: how the (B, T) boolean mask is handed over

    def changed(self, **changes):
        return replace(self, **changes)


@dataclass(frozen=True, eq=False)
class Example:
    spec: object  # cells.spec.CellSpec
    options: Options
    inputs: tuple  # one (B, T, ...) array per input leaf
    initial_states: tuple  # one (B, ...) array per state
    constants: tuple  # one (B, ...) array per constant
    mask: object = None  # (B, T) bool array, or None
    mask_family: str = "none"

    @property
    def structure(self):
        return self.spec.structure

    @property
    def batch(self):
        return self.inputs[0].shape[0]

    @property
    def steps(self):
        return self.inputs[0].shape[1]

    @property
    def dtype(self):
        return self.structure.dtype

    def changed(self, **changes):
        """A copy with some fields replaced; `options=` may be a dict of option changes."""
        if isinstance(changes.get("options"), dict):
            changes["options"] = self.options.changed(**changes["options"])
        return replace(self, **changes)

    def call_arguments(self):
        """Keyword arguments of `rnn(step_function, **these)` for this example."""
        o = self.options
        to_layout = (lambda x: np.swapaxes(x, 0, 1)) if o.time_major else (lambda x: x)
        # The example's own arrays (or views of them) are passed, so a backend that writes
        # into its arguments is caught (R13).
        leaves = [to_layout(x) for x in self.inputs]
        return dict(
            inputs=tuple(leaves) if self.structure.nested_inputs else leaves[0],
            initial_states=list(self.initial_states),
            go_backwards=o.go_backwards,
            mask=None if self.mask is None else to_layout(format_mask(self.mask, o.mask_format)),
            constants=list(self.constants) or None,
            unroll=o.unroll,
            input_length=self.steps if o.pass_input_length else None,
            time_major=o.time_major,
            zero_output_for_mask=o.zero_output_for_mask,
            return_all_outputs=o.return_all_outputs,
        )

    def __repr__(self):
        """One line: B, T, dtype, the mask and the families, and only the options that
        differ from their defaults (deterministic: in field order)."""
        return (
            f"Example(B={self.batch}, T={self.steps}, dtype={self.dtype}, "
            f"mask_family={self.mask_family!r}, mask={mask_repr(self.mask)}, "
            f"{changed_fields(self.options)}families={sorted(self.structure.families())})"
        )


def mask_repr(mask):
    """The mask as nested 0/1 lists, or None."""
    return "None" if mask is None else np.array2string(np.asarray(mask).astype(int), separator=",")


def changed_fields(options):
    """`name=value, ` for each field of a dataclass that differs from its default."""
    default = type(options)()
    return "".join(
        f"{f.name}={getattr(options, f.name)!r}, " for f in fields(options) if getattr(options, f.name) != getattr(default, f.name)
    )


def format_mask(mask, mask_format):
    """R8: a (B, T) boolean mask as bool, 0/1 integers or floats, or with a trailing axis."""
    if mask_format == "int32":
        return mask.astype(np.int32)
    if mask_format == "float":
        return mask.astype(np.float32)
    if mask_format == "bool-trailing-axis":
        return mask[..., None]
    return mask

