"""Old import paths keep working for one release (issue 38): the moved module itself,
with a DeprecationWarning that names the new path; the documented entry points unchanged."""

import subprocess
import sys
import warnings

import pytest

from conformance import moved


# (test_user_cell refuses to be imported outside a --cell run, by design)
@pytest.mark.parametrize("old", sorted(set(moved.MOVED) - {"test_user_cell"}))
def test_an_old_path_is_the_moved_module(old):
    """The same module object (one state); the warning is checked in a fresh process below."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module(f"conformance.{old}")
    assert module is importlib.import_module(f"conformance.{moved.MOVED[old]}")


@pytest.mark.e2e
def test_a_from_import_of_an_old_name_shares_the_state_of_the_new_module():
    code = ("import warnings; warnings.simplefilter('error')\n"
            "try:\n    from conformance import checks\nexcept DeprecationWarning as w:\n    print('warned:', w)\n"
            "warnings.simplefilter('ignore')\nfrom conformance import checks\nfrom conformance.judge import checks as new\n"
            "checks.MARK = 7\nprint(new.MARK)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "warned: conformance.checks moved to conformance.judge.checks" in out
    assert out.strip().endswith("7")


@pytest.mark.e2e
def test_the_documented_entry_points_still_run():
    done = subprocess.run([sys.executable, "-m", "conformance", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: rnn-conformance" in done.stdout, done.stderr[-500:]
    done = subprocess.run([sys.executable, "-m", "conformance.repro"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("usage: python -m conformance.repro CASE.json"), done.stderr
