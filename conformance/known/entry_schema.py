"""The schema of one entry of a known-divergence file: every field's type and size, and
every name checked against what it names.

A known file is data a project may hand the suite (`--extra-known`): an entry that does
not say what it means must not load and then quietly excuse nothing (a misspelt backend,
`modes = []`), nor fail later as if the backend had diverged (a condition that cannot be
evaluated). So each field is checked here before the ledger builds the entry; a refusal
is one KnownDivergenceError line naming the entry and the field, with at most ~80
characters of the offending value. The names a file may use (backends and their modes,
properties) live above this wing, so the caller hands them in as a `Vocabulary`
(conformance/harness/ledger_plugin.py); without one only types and sizes are checked.
"""

import re
from dataclasses import dataclass

from cells.case_fields import kind_of, short

MAX_ID, MAX_NAME, MAX_CONDITION, MAX_REASON, MAX_MODES = 100, 200, 2_000, 20_000, 16
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RULE = re.compile(r"[RGL]\d{1,2}|crash|crash: .+")  # a rule id, or how a declared crash shows


class KnownDivergenceError(ValueError):
    """A known-divergence file that cannot be used (reported in one line)."""


@dataclass(frozen=True)
class Vocabulary:
    """The names an entry may use: backend name -> its modes; the property ids."""

    backends: dict
    properties: frozenset


def check_entry(raw, where, vocabulary=None):
    """Raise KnownDivergenceError unless `raw` (one [[divergence]] table) is well formed."""
    text = {"id": MAX_ID, "backend": MAX_NAME, "package": MAX_NAME, "versions": MAX_NAME, "condition": MAX_CONDITION,
            "rule": MAX_NAME, "property": MAX_NAME, "reason": MAX_REASON, "example": MAX_NAME}
    for key, limit in text.items():
        if key in raw and (not isinstance(raw[key], str) or not raw[key] or len(raw[key]) > limit):
            raise KnownDivergenceError(f"{where}: {key} must be a non-empty string of at most {limit:,} characters, "
                                       f"not {_said(raw[key])}")
    if not _ID.fullmatch(raw["id"]):
        raise KnownDivergenceError(f"{where}: id {short(raw['id'])} is not letters, digits, '.', '_' and '-'")
    if not _RULE.fullmatch(raw["rule"]):
        raise KnownDivergenceError(f"{where}: rule {short(raw['rule'])} is not a rule id such as R4, L1 or G3, nor \"crash: <text>\"")
    if raw["property"].count("::") != 1:
        raise KnownDivergenceError(f'{where}: property {short(raw["property"])} is not "test_module::test_function"')
    modes = raw["modes"]
    if not isinstance(modes, list) or not 1 <= len(modes) <= MAX_MODES or not all(isinstance(m, str) for m in modes):
        raise KnownDivergenceError(f"{where}: modes must be a list of 1 to {MAX_MODES} mode names, not {_said(modes)}")
    if len(set(modes)) != len(modes):
        raise KnownDivergenceError(f"{where}: modes {short(modes)} names a mode twice")
    if vocabulary is not None:
        _check_names(raw, where, vocabulary)


def _check_names(raw, where, vocabulary):
    backend = raw["backend"]
    if backend not in vocabulary.backends:
        raise KnownDivergenceError(f"{where}: backend {short(backend)} is not a backend of the suite "
                                   "(rnn-conformance list names them)")
    unknown = [m for m in raw["modes"] if m not in vocabulary.backends[backend]]
    if unknown:
        raise KnownDivergenceError(f"{where}: {backend} has no mode {short(unknown[0])}; "
                                   f"its modes: {', '.join(vocabulary.backends[backend])}")
    if raw["property"] not in vocabulary.properties:
        raise KnownDivergenceError(f"{where}: property {short(raw['property'])} is not a property of the suite")


def _said(value):
    """A bad value in a message: its kind for a table or list of tables, else it, cut."""
    return kind_of(value) if isinstance(value, dict) else short(value)
