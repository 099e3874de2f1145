"""Other releases (conformance/releases.py, `--keras`, `--tf-keras`), the entries declared
for other releases (conformance/known.py), and the release history's arithmetic
(conformance/history.py)."""

import subprocess
import sys

import pytest

from conformance import history, releases
from conformance.backends import get_backend
from conformance.known import Ledger
from conformance.targets import Target
from conformance.usage import UsageError
from tests.test_known_matching import declared, divergence


def run_command(*arguments):
    return subprocess.run([sys.executable, "-m", "conformance", *arguments], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("given, message", [
    ("3.99.0", "keras 3.99.0 is not on the package index"),
    ("2.3.1", "older than 3.0.0"),
    ("three", "'three' is not a version"),
    (",", "needs at least one version"),
])
def test_a_keras_release_that_cannot_be_tested_is_one_line_exit_2(given, message):
    result = run_command("--keras", given)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_keras_with_backends_that_are_not_its_rows_is_a_usage_error():
    result = run_command("--keras", "3.8.0", "--backends", "reference,tf-keras")
    assert result.returncode == 2 and "names none of its rows" in result.stderr


def test_a_row_older_than_its_code_is_a_usage_error_when_named_and_left_out_loudly_otherwise():
    result = run_command("--keras", "3.8.0", "--backends", "keras-openvino")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "keras-openvino has no row for keras 3.8.0" in lines[0] and "since 3.14.0" in lines[0]
    assert releases.has_row("keras", "keras-openvino", "3.14.0") and releases.has_row("keras", "keras-jax", "3.0.0")
    assert not releases.has_row("keras", "layer-keras-openvino", "3.13.1")


def test_versions_are_checked_against_the_index(monkeypatch):
    monkeypatch.setitem(releases._available, "keras", ["3.15.1", "3.8.0", "3.0.0"])
    assert releases.parse("keras", "3.8.0, 3.0.0,3.8.0") == ["3.8.0", "3.0.0"]
    with pytest.raises(UsageError, match="3.1.0 is not on the package index"):
        releases.parse("keras", "3.1.0")


def test_each_release_has_its_own_overlay_environment():
    a, b = releases.environment_of("keras", "3.0.0"), releases.environment_of("keras", "3.8.0")
    assert a.overlay and a.requirements == ("keras==3.0.0",) and a.key() != b.key()
    tf_keras = releases.environment_of("tf-keras", "2.14.1")
    assert tf_keras.requirements == ("tf-keras==2.14.1", "tensorflow==2.14.*") and not tf_keras.overlay  # its own TensorFlow


def test_a_divergence_of_an_entry_for_other_releases_is_named_not_excused(tmp_path):
    """keras-numpy here is 3.15.1: an entry declared for <3.15 names it, excuses nothing."""
    target = Target(get_backend("keras-numpy"), "eager")
    entry = declared(tmp_path, backend="keras-numpy", package="keras", versions="<3.15")
    found = divergence("R4")
    assert Ledger([entry]).excuse(target, found) is None
    assert found.declared_elsewhere == "e (keras <3.15)"
    other_rule = divergence("R3")
    assert Ledger([entry]).excuse(target, other_rule) is None
    assert not hasattr(other_rule, "declared_elsewhere")  # another root cause: simply new
    here = declared(tmp_path, backend="keras-numpy", package="keras", versions=">=3.15")
    assert Ledger([here]).excuse(target, divergence("R4")) is here


HISTORY = {"package": "keras", "releases": [
    {"version": "3.0.0", "results": [{"entry": "a", "mode": "eager", "outcome": "absent"},
                                     {"entry": "b", "mode": "eager", "outcome": "error"}]},
    {"version": "3.2.0", "results": [{"entry": "a", "mode": "eager", "outcome": "present"},
                                     {"entry": "a", "mode": "jit", "outcome": "absent"},
                                     {"entry": "b", "mode": "eager", "outcome": "present"}]},
    {"version": "3.10.0", "results": [{"entry": "a", "mode": "eager", "outcome": "other"},
                                      {"entry": "b", "mode": "eager", "outcome": "present"}]},
    {"version": "3.11.0", "results": [{"entry": "a", "mode": "eager", "outcome": "present"},
                                      {"entry": "b", "mode": "eager", "outcome": "absent"}]},
]}


def test_an_entrys_range_spans_its_present_releases_and_names_the_gaps():
    spans = history.ranges(HISTORY)
    assert spans["a"] == ("3.2.0", "3.11.0", ["3.10.0"])  # (versions compare as versions: 3.10 > 3.2)
    assert spans["b"] == ("3.2.0", "3.10.0", [])


def test_the_history_table_marks_each_release():
    lines = history.table(HISTORY).splitlines()
    assert lines[0] == "| entry | 3.0.0 | 3.2.0 | 3.10.0 | 3.11.0 |"
    assert lines[2] == "| `a` | - | P | O | P |" and lines[3] == "| `b` | E | P | P | - |"


def test_the_history_table_by_series_counts_disagreeing_releases():
    lines = history.table(HISTORY, by_series=True).splitlines()
    assert lines[0] == "| entry | 3.0 (1) | 3.2 (1) | 3.10 (1) | 3.11 (1) |"
    two_in_one = {"package": "keras", "releases": [
        {"version": "3.0.0", "results": [{"entry": "a", "mode": "eager", "outcome": "absent"}]},
        {"version": "3.0.1", "results": [{"entry": "a", "mode": "eager", "outcome": "present"}]},
        {"version": "3.0.2", "results": [{"entry": "a", "mode": "eager", "outcome": "present"}]}]}
    assert history.table(two_in_one, by_series=True).splitlines()[2] == "| `a` | -1 P2 |"


def test_a_later_history_of_new_entries_joins_the_full_one():
    later = {"package": "keras", "releases": [
        {"version": "3.2.0", "results": [{"entry": "c", "mode": "call", "outcome": "present"}]},
        {"version": "3.11.0", "results": [{"entry": "c", "mode": "call", "outcome": "absent"}]}]}
    both = history.joined([HISTORY, later])
    spans = history.ranges(both)
    assert spans["c"] == ("3.2.0", "3.2.0", []) and spans["a"] == history.ranges(HISTORY)["a"]
    assert history.table(both).splitlines()[4] == "| `c` | . | P | . | - |"  # not replayed on 3.0.0, 3.10.0
    with pytest.raises(SystemExit, match="different packages"):
        history.joined([HISTORY, {**later, "package": "tf-keras"}])


def test_replaying_an_unknown_entry_is_refused_before_any_environment():
    with pytest.raises(SystemExit, match="no keras entry nope"):
        history.run("keras", ["3.0.0"], "unused.json", only=["nope"])
