"""Validation of a user's cell (--cell) in a saved case: where it came from, as data.

A user-cell case names the cell ("module:Class", its keyword arguments as JSON text, the
directory it was imported from) and the shapes probing found. Reading the case never
imports the module: the names are checked to be identifiers, the arguments to be a JSON
object, the shapes to be in range, and the rest of the case is checked against those
shapes (cells/case_schema.py). Only a reproducer script, which the user runs, or a replay
the user asked for with --cell naming the same class, ever imports it.
"""

import json
import re
from math import prod

from cells.case_fields import (MAX_ELEMENTS, CaseError, check_keys, check_list, check_one_of, check_text,
                               per_sample_shape, short)
from cells.user_cell import FRAMEWORKS, UserCellError, parse_args

KEYS = ("target", "args_json", "search_path", "input_shape", "states", "output", "weights", "framework", "constants")
MAX_STATES = 8
MAX_WEIGHTS = 64
MAX_WEIGHT_RANK = 4
_TARGET = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


def is_user_cell_dict(structure):
    return isinstance(structure, dict) and "user_cell" in structure


def check_user_cell(structure, where):
    """The user cell of a structure dict, in the form cells/case_schema.py checks a case
    against (input_shapes, states, outputs, constant_shapes, dtype, weight_shapes), plus
    `identity`: what names the cell (a stacked copy must be the same cell)."""
    check_keys(structure, ("user_cell",), (), where)
    cell = structure["user_cell"]
    where = f"{where}.user_cell"
    check_keys(cell, KEYS, (), where)
    if not isinstance(cell["target"], str) or not _TARGET.fullmatch(cell["target"]):
        raise CaseError(f"{where}.target: {short(cell['target'])} is not MODULE:CLASS (a dotted module name and a class name)")
    _args(cell["args_json"], f"{where}.args_json")
    check_text(cell["search_path"], f"{where}.search_path")
    check_one_of(cell["framework"], tuple(FRAMEWORKS.values()), f"{where}.framework")
    states = check_list(cell["states"], f"{where}.states", min_length=1, max_length=MAX_STATES)
    constants = check_list(cell["constants"], f"{where}.constants", max_length=MAX_STATES)
    return {
        "input_shapes": [per_sample_shape(cell["input_shape"], f"{where}.input_shape")],
        "states": [{"shape": per_sample_shape(s, f"{where}.states[{i}]")} for i, s in enumerate(states)],
        "outputs": [{"shape": per_sample_shape(cell["output"], f"{where}.output")}],
        "constant_shapes": [per_sample_shape(c, f"{where}.constants[{i}]") for i, c in enumerate(constants)],
        "dtype": "float32",
        "input_transform": "none",
        "weight_shapes": [_weight_shape(w, f"{where}.weights[{i}]") for i, w in
                          enumerate(check_list(cell["weights"], f"{where}.weights", max_length=MAX_WEIGHTS))],
        "identity": (cell["target"], json.loads(cell["args_json"]), cell["framework"]),
    }


def _args(text, where):
    """Keyword arguments: JSON text of an object (read as data, never evaluated)."""
    check_text(text, where)
    try:
        parse_args(text)  # the --cell-args rules: an object, finite numbers, shallow
    except UserCellError as error:
        raise CaseError(f"{where}: {str(error).removeprefix('--cell-args is ').removeprefix('--cell-args ')}") from None


def _weight_shape(shape, where):
    """A weight's shape: 0 to 4 positive dimensions, at most MAX_ELEMENTS values."""
    dims = check_list(shape, where, max_length=MAX_WEIGHT_RANK)
    for n in dims:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ELEMENTS:
            raise CaseError(f"{where}: expected integers from 1 to {MAX_ELEMENTS}, got {short(n)}")
    if prod(dims) > MAX_ELEMENTS:
        raise CaseError(f"{where}: more than {MAX_ELEMENTS} values")
    return tuple(dims)

