"""Other releases (conformance/research/releases.py, `--keras`, `--tf-keras`), the entries declared
for other releases (conformance/known.py), and the release history's arithmetic
(conformance/research/history.py)."""

import subprocess
import sys

import pytest

from conformance.research import history
from conformance.research import releases
from conformance.backends import get_backend
from conformance.known.ledger import Ledger
from conformance.judge.targets import Target
from conformance.base.usage import UsageError
from tests.known.test_known_matching import declared, divergence


def run_command(*arguments):
    return subprocess.run([sys.executable, "-m", "conformance", *arguments], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("given, message", [
    ("3.99.0", "keras 3.99.0 is not on the package index"),
    ("2.3.1", "older than 3.0.0"),
    ("three", "'three' is not a version, 'nightly' or the path of a checkout or a wheel"),
    ("3.16.0.dev1999010100", "keras-nightly 3.16.0.dev1999010100 is not on the package index"),
    ("./no-such-keras", "neither a wheel nor a checkout (no keras/__init__.py in it)"),
    (",", "needs at least one version"),
])
@pytest.mark.e2e
def test_a_keras_release_that_cannot_be_tested_is_one_line_exit_2(given, message):
    result = run_command("--keras", given)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.e2e
def test_keras_with_backends_that_are_not_its_rows_is_a_usage_error():
    result = run_command("--keras", "3.8.0", "--backends", "reference,tf-keras")
    assert result.returncode == 2 and "names none of its rows" in result.stderr


@pytest.mark.e2e
def test_a_row_older_than_its_code_is_a_usage_error_when_named_and_left_out_loudly_otherwise():
    result = run_command("--keras", "3.8.0", "--backends", "keras-openvino")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "keras-openvino has no row for keras 3.8.0" in lines[0] and "since 3.14.0" in lines[0]
    assert releases.has_row("keras", "keras-openvino", "3.14.0") and releases.has_row("keras", "keras-jax", "3.0.0")
    assert not releases.has_row("keras", "layer-keras-openvino", "3.13.1")


def test_versions_are_checked_against_the_index(monkeypatch):
    monkeypatch.setitem(releases._available, "keras", ["3.15.1", "3.8.0", "3.0.0"])
    assert [r.version for r in releases.parse("keras", "3.8.0, 3.0.0,3.8.0")] == ["3.8.0", "3.0.0"]
    with pytest.raises(UsageError, match="3.1.0 is not on the package index"):
        releases.parse("keras", "3.1.0")


def test_nightly_is_the_newest_keras_nightly_and_a_pinned_one_is_a_nightly_too(monkeypatch):
    monkeypatch.setitem(releases._available, "keras-nightly", ["3.16.0.dev2026102704", "3.16.0.dev2026102604"])
    monkeypatch.setitem(releases._available, "keras-openvino", ["0.0.1"])
    newest, pinned = releases.parse("keras", "nightly,3.16.0.dev2026102604")
    assert (newest.version, newest.kind, newest.label) == ("3.16.0.dev2026102704", "nightly", "nightly-3.16.0.dev2026102704")
    assert (pinned.kind, releases.row_name("keras-jax", pinned)) == ("nightly", "keras-jax@nightly-3.16.0.dev2026102604")
    spec = newest.environment()
    assert spec.overlay and spec.requirements == ("keras-nightly==3.16.0.dev2026102704", "keras-openvino==0.0.1")
    with pytest.raises(UsageError, match="only released versions are tested for tf-keras"):
        releases.parse("tf-keras", "nightly")


@pytest.mark.e2e
def test_a_checkout_is_linked_live_and_a_wheel_is_pinned_by_its_hash(tmp_path, monkeypatch):
    monkeypatch.setitem(releases._available, "keras-openvino", ["0.0.1"])
    checkout = tmp_path / "keras-src"
    (checkout / "keras").mkdir(parents=True)
    (checkout / "keras" / "__init__.py").write_text('__version__ = "3.16.0.dev0"\n')
    [found] = releases.parse("keras", str(checkout))
    assert (found.version, found.label) == ("3.16.0.dev0", "checkout-3.16.0.dev0")  # what its code states
    spec = found.environment()
    assert spec.overlay and spec.requirements == ("keras-openvino==0.0.1",) and spec.links == (("keras", str(checkout / "keras")),)
    wheel = tmp_path / "keras-3.16.0.dev0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    [built] = releases.parse("keras", str(wheel))
    assert (built.kind, built.version) == ("wheel", "3.16.0.dev0")
    requirement, plugin = built.environment().requirements
    assert requirement.startswith(f"keras @ {wheel.as_uri()}#sha256=") and plugin == "keras-openvino==0.0.1"
    wheel.write_bytes(b"rebuilt")
    assert built.environment().key() != spec.key() and built.environment().requirements[0] != requirement


def test_each_release_has_its_own_overlay_environment():
    a, b = releases.environment_of("keras", "3.0.0"), releases.environment_of("keras", "3.8.0")
    assert a.overlay and a.requirements == ("keras==3.0.0",) and a.key() != b.key()
    tf_keras = releases.environment_of("tf-keras", "2.14.1")
    assert tf_keras.requirements == ("tf-keras==2.14.1", "tensorflow==2.14.*") and not tf_keras.overlay  # its own TensorFlow


def test_a_divergence_of_an_entry_for_other_releases_is_named_not_excused(tmp_path):
    """keras-numpy here is 3.15.1: an entry declared for <3.15 resembles it, excuses nothing."""
    target = Target(get_backend("keras-numpy"), "eager")
    entry = declared(tmp_path, backend="keras-numpy", package="keras", versions="<3.15")
    found = divergence("R4")
    assert Ledger([entry]).excuse(target, found) is None
    [resembles] = found.resembles
    assert resembles["entry"] == "e" and resembles["differs"] == "keras 3.15.1 is outside its range <3.15"
    assert resembles["edit"] is None  # another release: a person decides, known update widens nothing
    other_rule = divergence("R3")
    assert Ledger([entry]).excuse(target, other_rule) is None
    assert not hasattr(other_rule, "resembles")  # another root cause: simply new
    here = declared(tmp_path, backend="keras-numpy", package="keras", versions=">=3.15")
    assert Ledger([here]).excuse(target, divergence("R4")) is here


def test_a_divergence_outside_an_entry_s_condition_names_what_differs_and_the_widened_condition(tmp_path):
    """The same backend, mode, rule and release, but a conjunct of the condition is false:
    named with that conjunct and its fact, and the condition widened by exactly that fact."""
    target = Target(get_backend("keras-numpy"), "eager")
    entry = declared(tmp_path, backend="keras-numpy", package="keras", versions=">=3.0.0",
                     condition="masked and not unroll and states == 2")  # the 2018 example has 1 state
    found = divergence("R4")
    assert Ledger([entry]).excuse(target, found) is None
    [resembles] = found.resembles
    assert resembles["differs"] == "its condition is false here: `states == 2` (states = 1)"
    assert resembles["edit"] == {"condition": "masked and not unroll and (states == 2 or states == 1)"}
    assert resembles["facts"]["states"] == 1 and resembles["known_file"] == str(tmp_path / "known.toml")


def test_a_development_version_is_inside_an_open_range_and_outside_one_closed_before_it():
    from conformance.known.ledger import closed_at, in_range

    assert in_range(">=3.0.0", "3.16.0.dev0") and in_range(">=3.0.0", "3.16.0.dev2026102704")
    assert in_range(">=3.0.0", "3.16.0rc1") and not in_range(">=3.0.0,<3.16.0.dev0", "3.16.0.dev0")
    assert not in_range(">=3.0.0,<=3.15.1", "3.16.0.dev0") and in_range(">=3.0.0,<3.16.0.dev0", "3.15.1")
    assert not in_range(">=3.0.0", "2026.4.1-22982-e213a147257")  # not PEP 440: in no range
    assert closed_at(">=3.0.0", "3.16.0.dev0") == ">=3.0.0,<3.16.0.dev0"
    assert closed_at(">=3.15.1", "3.16.0.dev0") == ">=3.15.1,<3.16.0.dev0"
    assert closed_at(">=3.0.0,<=3.15.1", "3.9.0") == ">=3.0.0,<3.9.0"
    assert closed_at("==3.15.1", "3.16.0.dev0") == ">=3.15.1,<3.16.0.dev0"
    assert closed_at(">=3.15.1", "3.15.1") is None  # nothing left: remove the entry


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


def test_an_entry_that_shows_as_anything_or_differs_in_range_and_condition_resembles_nothing(tmp_path):
    """'any' garbles the whole computation, so it says nothing of one failure; an entry unlike
    the divergence in both its range and its condition is another root cause."""
    target = Target(get_backend("keras-numpy"), "eager")
    anything = declared(tmp_path, backend="keras-numpy", package="keras", versions=">=3.0.0", shows_as=["any"],
                        condition="masked and unroll")  # the 2018 example is not unrolled
    far = declared(tmp_path, backend="keras-numpy", package="keras", versions="<3.15", condition="masked and unroll")
    for entry in (anything, far):
        found = divergence("R4")
        assert Ledger([entry]).excuse(target, found) is None and not hasattr(found, "resembles")
