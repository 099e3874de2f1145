"""The ledger across versions, on a planted loop (tests/impls/versioned_rnn.py) whose one bug
comes and goes with the release of a made-up library beside it, as a Keras developer's
fix does: an unchanged development version is green; a fix is one FIXED line, `known
update` closes the entry's range and nothing else, and the same run is then green; a
changed case is CHANGED, not FIXED; a bug reaching past its entry's condition resembles
the entry, and `known update` widens the condition by the saved case (CONTRACT.md
section 6)."""

import difflib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # each test runs the command (the module's fixture too)

IMPLS = Path(__file__).resolve().parents[1] / "impls"
IMPL = "versioned_rnn:rnn"
BACKEND = f"impl:{IMPL}"
ENTRY = "planted-backwards-mask-crashes"
AGREEMENT = "test_agreement::test_agrees_with_reference"
FEW = ("--max-examples", "12", "--shrink-seconds", "2", "--jobs", "1")


def release(here, version, fault):
    """Install release `version` of the made-up library: its code states the version."""
    (here / "plantedlib").mkdir(exist_ok=True)
    (here / "plantedlib" / "__init__.py").write_text(f"__version__ = {version!r}\nFAULT = {fault!r}\n")


def command(here, *args):
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=here, capture_output=True, text=True, timeout=600)


def run(here, *args):
    return command(here, "--impl", IMPL, *FEW, "--known-divergences", "known.toml", "--report", "r.json", *args)


def said(result):
    return result.stdout[-4000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def declared(tmp_path_factory):
    """Release 1.0 of the planted loop with its bug declared from the case the suite saved."""
    here = tmp_path_factory.mktemp("ledger")
    for name in ("numpy_rnn.py", "versioned_rnn.py"):
        shutil.copy(IMPLS / name, here / name)
    release(here, "1.0", "backwards")
    found = command(here, "--impl", IMPL, *FEW, "--ignore-known", "--report", "found.json")
    assert found.returncode == 1, said(found)
    results = json.loads((here / "found.json").read_text())["backends"][0]["results"]
    case = next(r["case"] for r in results if r["property"] == AGREEMENT and r["outcome"] == "crash")
    shutil.copy(here / case, here / "planted.json")
    (here / "known.toml").write_text(f"""# the planted loop's ledger

[[divergence]]
id = "{ENTRY}"
backend = "{BACKEND}"
package = "plantedlib"
versions = ">=1.0"
modes = ["eager"]
condition = "go_backwards and mask"
rule = "R2"
shows_as = ["crash: ValueError: planted: cannot reverse a mask"]
property = "{AGREEMENT}"
reason = "planted: the loop cannot reverse a mask"
example = "planted.json"
""")
    same = run(here)
    assert same.returncode == 0, said(same)
    return here


@pytest.fixture
def checkout(declared, tmp_path):
    here = tmp_path / "checkout"
    shutil.copytree(declared, here, ignore=shutil.ignore_patterns("rnn-conformance-repros", "*.json.tmp"))
    return here


def update_and_diff(here):
    """`known update` of the run's report: the lines of the known file it changed."""
    before = (here / "known.toml").read_text()
    update = command(here, "known", "update", "--report", "r.json")
    assert update.returncode == 0, said(update)
    return changed_lines(before, (here / "known.toml").read_text())


def changed_lines(before, after):
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_an_unchanged_development_version_is_green_and_says_which_version_ran(checkout):
    release(checkout, "1.1.dev0", "backwards")
    result = run(checkout)
    assert result.returncode == 0, said(result)
    results = json.loads((checkout / "r.json").read_text())["backends"][0]["results"]
    [replayed] = [r for r in results if r["replay"]]
    assert replayed["outcome"] == "known" and replayed["tested_version"] == "1.1.dev0"


def test_a_fix_is_one_fixed_line_and_known_update_closes_the_range_and_nothing_else(checkout):
    release(checkout, "1.1.dev0", None)
    fixed = run(checkout)
    assert fixed.returncode == 1, said(fixed)
    lines = [line for line in fixed.stdout.splitlines() if line.startswith(("FIXED", "CHANGED"))]
    assert lines == [f"FIXED {ENTRY} on {BACKEND} [eager]: its case agrees with the reference on plantedlib 1.1.dev0; "
                     f'edit {checkout / "known.toml"}: versions = ">=1.0,<1.1.dev0"'], said(fixed)
    assert update_and_diff(checkout) == ['-versions = ">=1.0"', '+versions = ">=1.0,<1.1.dev0"']
    again = run(checkout)
    assert again.returncode == 0, said(again)
    release(checkout, "1.0", "backwards")  # the release before the fix still has it, declared
    assert run(checkout).returncode == 0


def test_a_case_that_diverges_otherwise_is_changed_and_known_update_widens_shows_as(checkout):
    release(checkout, "1.1.dev0", "other")
    changed = run(checkout)
    assert changed.returncode == 1, said(changed)
    lines = [line for line in changed.stdout.splitlines() if line.startswith(("FIXED", "CHANGED"))]
    assert len(lines) == 1 and lines[0].startswith(f"CHANGED {ENTRY} on {BACKEND} [eager]: its case now diverges otherwise")
    assert "RuntimeError: planted: a mask of the wrong rank" in lines[0] and "FIXED" not in changed.stdout.split("\n\n")[-1]
    assert update_and_diff(checkout) == [
        '-shows_as = ["crash: ValueError: planted: cannot reverse a mask"]',
        '+shows_as = ["crash: ValueError: planted: cannot reverse a mask", "crash: RuntimeError: planted: a mask of the wrong rank"]']
    again = run(checkout)
    assert again.returncode == 0, said(again)


def test_a_bug_past_its_entry_s_condition_resembles_it_and_known_update_widens_the_condition(checkout):
    release(checkout, "1.2.dev0", "masked")  # now without go_backwards too
    wider = run(checkout)
    assert wider.returncode == 1, said(wider)
    assert (f"  resembles {ENTRY}: its condition is false here: `go_backwards` (go_backwards = False); "
            "`known update` widens its condition to: mask") in wider.stdout, said(wider)
    assert "resembling a declared entry" in wider.stdout.splitlines()[-1]
    assert update_and_diff(checkout) == [
        '-condition = "go_backwards and mask"', '+condition = "mask"']
    again = run(checkout)
    assert again.returncode == 0, said(again)


def test_a_project_s_own_entries_layer_on_the_shipped_file_and_known_update_edits_only_theirs(checkout):
    """--extra-known: the planted entry in the project's file, the shipped file beneath it
    untouched by the update; an id the shipped file declares already is refused."""
    from conformance.known.ledger import DEFAULT_FILE

    shipped = DEFAULT_FILE.read_text()
    release(checkout, "1.1.dev0", None)
    fixed = command(checkout, "--impl", IMPL, *FEW, "--extra-known", "known.toml", "--report", "r.json")
    assert fixed.returncode == 1 and f"FIXED {ENTRY} on {BACKEND}" in fixed.stdout, said(fixed)
    assert json.loads((checkout / "r.json").read_text())["known_files"] == [str(DEFAULT_FILE), str(checkout / "known.toml")]
    assert update_and_diff(checkout) == ['-versions = ">=1.0"', '+versions = ">=1.0,<1.1.dev0"']
    assert DEFAULT_FILE.read_text() == shipped
    (checkout / "twice.toml").write_text(DEFAULT_FILE.read_text().split("\n[[divergence]]", 1)[0] + "\n[[divergence]]"
                                         + DEFAULT_FILE.read_text().split("\n[[divergence]]")[1].replace(
                                             'example = "', f'example = "{DEFAULT_FILE.parent}/'))
    twice = command(checkout, "--impl", IMPL, *FEW, "--extra-known", "twice.toml")
    assert twice.returncode == 2 and "is declared in" in twice.stderr and len(twice.stderr.strip().splitlines()) == 1
