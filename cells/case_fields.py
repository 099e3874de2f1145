"""The field checks every saved-case validator shares: one CaseError line per bad value.

cells/case_schema.py (the suite's own cells) and cells/user_cell_schema.py (a user's cell,
--cell) both build on these, so a malformed field reads the same whichever part of a case
holds it.
"""

import math
from math import prod

import numpy as np

from cells.dtypes import largest

MAX_RANK = 3
MAX_DIM = 256  # any per-sample dimension, the hidden size
MAX_ELEMENTS = 10**6  # of one array
MAX_TEXT = 10_000


class CaseError(ValueError):
    """A case file that is not a valid case (reported in one line, never executed)."""


def per_sample_shape(shape, where):
    """A per-sample shape: a list of 1..3 positive ints."""
    dims = check_list(shape, where, min_length=1, max_length=MAX_RANK)
    for n in dims:
        check_int(n, where, 1, MAX_DIM)
    if prod(dims) > MAX_ELEMENTS:
        raise CaseError(f"{where}: more than {MAX_ELEMENTS} values")
    return tuple(dims)


def check_keys(d, required, optional, where):
    if not isinstance(d, dict):
        raise CaseError(f"{where}: expected a JSON object, got {kind_of(d)}")
    missing = [k for k in required if k not in d]
    if missing:
        raise CaseError(f"{where}: missing {', '.join(missing)}")
    unknown = [k for k in d if k not in required + optional]
    if unknown:
        raise CaseError(f"{where}: unknown keys {', '.join(short(k) for k in unknown)}")


def check_list(value, where, length=None, min_length=0, max_length=None):
    if not isinstance(value, list):
        raise CaseError(f"{where}: expected a list, got {kind_of(value)}")
    if length is not None and len(value) != length:
        raise CaseError(f"{where}: {len(value)} entries, expected {length}")
    if len(value) < min_length or (max_length is not None and len(value) > max_length):
        raise CaseError(f"{where}: {len(value)} entries, expected {min_length} to {max_length}")
    return value


def check_bool(value, where):
    if not isinstance(value, bool):
        raise CaseError(f"{where}: expected true or false, got {short(value)}")


def check_int(value, where, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CaseError(f"{where}: expected an integer from {low} to {high}, got {short(value)}")


def check_number(value, dtype, where, finite):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CaseError(f"{where}: expected a number, got {short(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise CaseError(f"{where}: {short(value)} is out of range") from None
    if math.isfinite(number) and abs(number) > largest(dtype):
        raise CaseError(f"{where}: {short(value)} is out of the range of {dtype}")
    if finite and not math.isfinite(number):
        raise CaseError(f"{where}: expected a finite number, got {number!r}")


def check_one_of(value, choices, where):
    if not isinstance(value, str) or value not in choices:
        raise CaseError(f"{where}: {short(value)} is not one of {', '.join(choices)}")
    return value


def check_match(value, pattern, where, what):
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise CaseError(f"{where}: {short(value)} is not {what}")
    return value


def check_text(value, where):
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise CaseError(f"{where}: expected a string of at most {MAX_TEXT} characters, got {short(value)}")


def kind_of(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "a bool", type(None): "null"}.get(type(value), type(value).__name__)


def short_path(path):
    """A path the user gave, in a one-line message: as given, unless it is long or holds
    characters that are not printable (then as `short` shows it)."""
    text = str(path)
    return text if text.isprintable() and len(text) <= 120 else short(text)


def short(value):
    """A bad value as it appears in a one-line message (repr, cut, one line)."""
    try:
        text = ascii(value)
    except (RecursionError, ValueError):  # deep junk, an int of more digits than Python prints
        text = kind_of(value)
    return text if len(text) <= 80 else text[:77] + "..."
