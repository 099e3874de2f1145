"""A known-divergence file's entries are checked field by field before use
(conformance/known/entry_schema.py, issue 39): wrong types, empty or misspelt names, a
condition that cannot be read or evaluated are one line each, never a silent entry that
excuses nothing and never a traceback; a refusal echoes at most ~80 characters."""

import re
import shutil

import pytest

from conformance.judge.vocabulary import vocabulary
from conformance.known import ledger

SHIPPED = ledger.DEFAULT_FILE
FIRST = re.search(r"^\[\[divergence\]\]\n.*?(?=^\[\[divergence\]\])", SHIPPED.read_text(), re.S | re.M).group(0)


def one_entry_file(tmp_path, change):
    text = change(FIRST)
    case = re.search(r'^example = "([^"]+)"', FIRST, re.M).group(1)
    shutil.copy(SHIPPED.parent / case, tmp_path / case)
    (tmp_path / "known.toml").write_text(text)
    return tmp_path / "known.toml"


def field(name, value):
    return lambda text: re.sub(rf"^{name} = .*$", f"{name} = {value}", text, count=1, flags=re.M)


BAD = {
    "modes empty": (field("modes", "[]"), "modes must be a list of 1 to"),
    "modes a number": (field("modes", "5"), "modes must be a list"),
    "modes twice": (field("modes", '["eager", "eager"]'), "names a mode twice"),
    "misspelt backend": (field("backend", '"keras-jaxx"'), "is not a backend of the suite"),
    "misspelt mode": (field("modes", '["jitt"]'), "has no mode 'jitt'"),
    "unknown property": (field("property", '"test_agreement::test_nothing"'), "is not a property of the suite"),
    "versions a number": (field("versions", "3"), "versions must be a non-empty string"),
    "condition a number": (field("condition", "5"), "condition must be a non-empty string"),
    "condition too long": (field("condition", '"' + "not " * 100_000 + 'masked"'), "at most 2,000 characters"),
    "condition deep": (field("condition", '"' + "(" * 600 + "masked" + ")" * 600 + '"'), "condition"),
    "condition fails": (field("condition", "\"'a' < masked\""), "cannot be evaluated on its own case: TypeError"),
    "id a table": (field("id", "{a = 1}"), "id must be a non-empty string"),
    "id not a name": (field("id", '"a b"'), "is not letters, digits"),
    "rule not a rule": (field("rule", '"X9"'), "is not a rule id"),
    "reason huge": (field("reason", '"' + "x" * 300_000 + '"'), "at most 20,000 characters"),
    "divergence a string": (lambda text: 'divergence = "x"\n', "divergence must be an array of tables"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_malformed_entry_is_one_short_line(tmp_path, name):
    change, said = BAD[name]
    with pytest.raises(ledger.KnownDivergenceError) as refused:
        ledger.load(one_entry_file(tmp_path, change), vocabulary())
    message = str(refused.value)
    assert said in message, message
    assert "\n" not in message and len(message) <= 400, message  # the path, the entry, the field, <= 80 of the value


def test_the_unchanged_entry_loads(tmp_path):
    assert len(ledger.load(one_entry_file(tmp_path, lambda text: text), vocabulary())) == 1


def test_the_shipped_file_uses_only_names_of_the_suite():
    assert len(ledger.load(SHIPPED, vocabulary())) > 100


def test_bytes_that_are_not_utf8_are_one_line(tmp_path):
    (tmp_path / "k.toml").write_bytes(b"\xff\xfe[[divergence]]\n")
    with pytest.raises(ledger.KnownDivergenceError, match="not UTF-8"):
        ledger.load(tmp_path / "k.toml")


def test_names_are_checked_against_the_vocabulary_given(tmp_path):
    """An --impl backend's entry (a project's --extra-known) reads where the run names that
    --impl; without a vocabulary (known update, history) only types and sizes are checked."""
    impl = lambda text: field("modes", '["eager"]')(field("backend", '"impl:mymodule:rnn"')(text))
    path = one_entry_file(tmp_path, impl)
    with pytest.raises(ledger.KnownDivergenceError, match="is not a backend of the suite"):
        ledger.load(path, vocabulary())
    assert [e.backend for e in ledger.load(path, vocabulary(["impl:mymodule:rnn"]))] == ["impl:mymodule:rnn"]
    assert len(ledger.load(path)) == 1


@pytest.mark.parametrize("value", ["5", '"R3"', "{a = 1}"])
def test_shows_as_of_another_type_is_one_line(tmp_path, value):
    path = one_entry_file(tmp_path, field("shows_as", value))
    with pytest.raises(ledger.KnownDivergenceError, match="shows_as must be a list"):
        ledger.load(path, vocabulary())
