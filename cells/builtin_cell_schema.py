"""Validation of a saved built-in cell (issue 41): the `builtin_cell` structure of a case.

Checked as data, like the rest of a case (cells/case_schema.py): exact keys, names from
fixed sets, sizes in bounds, a ConvLSTM configuration Keras accepts. Returned in the form
the case schema checks a case against, plus `identity` (a stacked copy must be the same
cell; a built-in layer has one cell, so it never stacks).
"""

from cells.builtin_cell import ACTIVATIONS, CONV_RANK, KINDS, structure_from_dict
from cells.case_fields import MAX_DIM, CaseError, check_bool, check_int, check_keys, check_list, check_one_of

KEYS = ("kind", "units", "input_shape", "activation", "recurrent_activation", "use_bias", "reset_after",
        "kernel_size", "strides", "dilation_rate", "padding", "dtype")


def is_builtin_cell_dict(structure):
    return isinstance(structure, dict) and "builtin_cell" in structure


def check_builtin_cell(structure, where):
    check_keys(structure, ("builtin_cell",), (), where)
    cell, where = structure["builtin_cell"], f"{where}.builtin_cell"
    check_keys(cell, KEYS, (), where)
    kind = check_one_of(cell["kind"], KINDS, f"{where}.kind")
    check_int(cell["units"], f"{where}.units", 1, MAX_DIM)
    check_one_of(cell["activation"], ACTIVATIONS, f"{where}.activation")
    check_one_of(cell["recurrent_activation"], ACTIVATIONS, f"{where}.recurrent_activation")
    check_bool(cell["use_bias"], f"{where}.use_bias")
    check_bool(cell["reset_after"], f"{where}.reset_after")
    check_one_of(cell["padding"], ("valid", "same"), f"{where}.padding")
    check_one_of(cell["dtype"], ("float32",), f"{where}.dtype")
    rank = CONV_RANK.get(kind, 0)
    shape = _ints(cell["input_shape"], f"{where}.input_shape", rank + 1, MAX_DIM)
    conv = {name: _ints(cell[name], f"{where}.{name}", rank, 8) for name in ("kernel_size", "strides", "dilation_rate")}
    if rank and max(conv["strides"]) > 1 and max(conv["dilation_rate"]) > 1:
        raise CaseError(f"{where}: strides > 1 with dilation_rate > 1 (Keras refuses it)")
    built = structure_from_dict(structure)
    if rank and min(built.state_shape[:-1]) < 1:
        raise CaseError(f"{where}.input_shape: {shape} is too small for the kernel (no output position)")
    return {
        "input_shapes": [tuple(built.input_shape)],
        "states": [{"shape": s.shape} for s in built.states],
        "outputs": [{"shape": built.state_shape}],
        "constant_shapes": [],
        "dtype": "float32",
        "input_transform": "none",
        "weight_shapes": built.weight_shapes(),
        "identity": ("builtin", kind),
    }


def _ints(values, where, length, high):
    values = check_list(values, where, length)
    for n in values:
        check_int(n, where, 1, high)
    return values
