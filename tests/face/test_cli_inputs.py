"""Bad input to `rnn-conformance`, run for real: one line on stderr, exit status 2, and
no worker started (each is found before the run, not after it as a traceback)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.known import ledger as known

pytestmark = pytest.mark.e2e  # each test runs the command

REPOSITORY = Path(__file__).resolve().parents[2]
IMPLS = REPOSITORY / "tests" / "impls"
PYTHONPATH = {**os.environ, "PYTHONPATH": str(REPOSITORY)}


def run_command(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env or PYTHONPATH)


def assert_one_line_usage_error(result, message):
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-conformance: error: "), result.stderr
    assert message in lines[0], lines[0]
    assert "started" not in result.stdout and "Traceback" not in result.stderr


@pytest.fixture
def here(tmp_path):
    """A working directory with the test loops, a file and a directory in it."""
    for name in ("numpy_rnn.py", "misbehaving.py", "exits_at_import.py"):
        shutil.copy(IMPLS / name, tmp_path / name)
    (tmp_path / "a-file").write_text("not a directory\n")
    (tmp_path / "a-directory").mkdir()
    return tmp_path


# -- a module that ends the process at import: refused, never a silent pass ------------------


@pytest.mark.parametrize("how", ["sys.exit", "os._exit", "KeyboardInterrupt"])
def test_a_module_that_ends_the_process_at_import_is_refused(here, how):
    result = run_command("--impl", "exits_at_import:rnn", env={**PYTHONPATH, "IMPORT_ENDS": how}, cwd=here)
    expected = {"sys.exit": "calls sys.exit(0) at import", "os._exit": "ended the process with status 0",
                "KeyboardInterrupt": "raises KeyboardInterrupt at import"}[how]
    assert_one_line_usage_error(result, expected)
    assert "cannot be tested" in result.stderr


# -- output paths, checked before any worker starts ----------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--report", "a-file/r.json"], "a-file is a file, not a directory"),
        (["--report", "a-directory"], "--report a-directory: is a directory, not a file"),
        (["--report", "no-such-dir/r.json"], "no-such-dir does not exist"),
        (["--markdown", "a-file/m.md"], "a-file is a file, not a directory"),
        (["--markdown", "a-directory"], "--markdown a-directory: is a directory, not a file"),
        (["--markdown", "no-such-dir/deeper/m.md"], "deeper does not exist"),
        (["--report", "same.out", "--markdown", "same.out"], "--report and --markdown name the same file"),
        (["--repro-dir", "a-file"], "--repro-dir a-file: is a file, not a directory"),
        (["--repro-dir", "a-file/repros"], "a-file is a file, not a directory"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_refused_before_the_run(here, arguments, message):
    assert_one_line_usage_error(run_command("--backends", "reference", *arguments, cwd=here), message)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only directories (os.access says so too)")
def test_a_read_only_directory_is_refused_before_the_run(here):
    locked = here / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert_one_line_usage_error(run_command("--backends", "reference", "--report", "locked/r.json", cwd=here),
                                    "not writable")
    finally:
        locked.chmod(0o700)


def test_the_mutants_report_path_is_checked_before_any_mutant_runs(here):
    assert_one_line_usage_error(run_command("mutants", "--report", "a-directory", cwd=here), "is a directory")


# -- the known-divergence file ---------------------------------------------------------------------------


def test_a_missing_known_divergence_file_is_refused(here):
    assert_one_line_usage_error(run_command("--backends", "reference", "--known-divergences", "nope.toml", cwd=here),
                                "cannot read known divergences nope.toml")


def test_a_malformed_known_divergence_file_is_refused(here):
    (here / "bad.toml").write_text('[[divergence]]\nid = "x"\n')
    assert_one_line_usage_error(run_command("--backends", "reference", "--known-divergences", "bad.toml", cwd=here),
                                "entry 'x' lacks backend")


def test_known_divergences_and_ignore_known_together_are_refused(here):
    assert_one_line_usage_error(
        run_command("--known-divergences", str(known.DEFAULT_FILE), "--ignore-known", cwd=here), "contradict")


# -- options of another command, bad values ---------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [["--backends", "reference"], ["--impl", "m:f"], ["--impl-ops", "jax"], ["--seed", "1"], ["--jobs", "2"],
     ["--repro-dir", "d"], ["--ignore-known"], ["--known-divergences", "k.toml"], ["--backend-timeout", "5"],
     ["--fail-fast"]],
)
def test_mutants_refuses_run_only_options(here, arguments):
    assert_one_line_usage_error(run_command("mutants", *arguments, cwd=here),
                                f"{arguments[0]} does not apply to mutants ({arguments[0]} applies to the run command only)")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--jobs", "two"], "argument --jobs: must be a whole number, got 'two'"),
        (["--max-examples", "0"], "argument --max-examples: must be at least 1, got 0"),
        (["--seed", "x"], "argument --seed: must be a whole number, got 'x'"),
        (["--example-timeout", "0"], "argument --example-timeout: must be a number of seconds above 0"),
        (["--backend-timeout", "soon"], "argument --backend-timeout: must be a number of seconds, got 'soon'"),
        (["lst"], "unknown command 'lst'; commands: run, list, mutants"),
        (["list", "--backends", "reference"], "--backends does not apply to list"),
        (["--backends", ","], "--backends needs at least one backend name"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_values_are_one_line_without_internal_names(here, arguments, message):
    result = run_command(*arguments, cwd=here)
    assert_one_line_usage_error(result, message)
    assert "_positive" not in result.stderr


def test_help_names_no_internal_function_and_points_to_the_contract(here):
    for arguments in (["--help"], ["run", "--help"], ["mutants", "--help"], ["list", "--help"]):
        result = run_command(*arguments, cwd=here)
        assert result.returncode == 0 and "_positive" not in result.stdout, result.stdout
        assert "CONTRACT.md" in result.stdout, arguments
    top = run_command("--help", cwd=here).stdout
    assert "default: ci when the environment variable CI is set, else dev" in " ".join(top.split())
    assert "--backend-timeout" in top and "--fail-fast" in top and "--known-divergences" in top
