"""The command's workers, run for real on loops that misbehave (tests/impls/misbehaving.py):
no silent pass, no worker left behind, a verdict whatever the loop catches or kills."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.results import report as report_module

pytestmark = pytest.mark.e2e  # each test runs the command and its workers

REPOSITORY = Path(__file__).resolve().parents[2]
IMPLS = REPOSITORY / "tests" / "impls"
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
FEW = ("--max-examples", "2")


def run_command(*args, cwd, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env or ENVIRONMENT)


@pytest.fixture
def here(tmp_path):
    for name in ("numpy_rnn.py", "misbehaving.py"):
        shutil.copy(IMPLS / name, tmp_path / name)
    return tmp_path


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


class Command:
    """The command started in the background, its output read from files as it grows."""

    def __init__(self, *args, cwd):
        self.out, self.err = cwd / "command.out", cwd / "command.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "conformance", *args], stdout=out, stderr=err,
                                            cwd=cwd, env=ENVIRONMENT)

    def wait_for(self, pattern, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.out.read_text())
            if found:
                return found
            assert self.process.poll() is None, self.out.read_text()[-2000:] + self.err.read_text()[-2000:]
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} after {timeout} s: {self.out.read_text()[-2000:]}")

    def worker_pid(self, name):
        return int(self.wait_for(rf"\[{re.escape(name)}\] started \(pid (\d+)\)").group(1))

    def finish(self, timeout=60):
        self.process.wait(timeout)
        return self.process.returncode, self.out.read_text(), self.err.read_text()


HANGS = "impl:misbehaving:hangs_catching_everything"


def write_made_up_entry(path, entry_id, package, why):
    """A known-divergence file with one made-up reference entry on an agreement case."""
    case = Path(report_module.__file__).parents[1] / "known" / "keras-jax-masked-output-from-states0.json"
    path.write_text(f"""
[[divergence]]
id = "{entry_id}"
backend = "reference"
package = "{package}"
versions = ">=1"
modes = ["eager"]
condition = "steps >= 1"
rule = "R4"
property = "test_agreement::test_agrees_with_reference"
reason = "made up: {why}"
example = "{case}"
""")


def test_the_command_itself_never_imports_the_users_module(here):
    imported_by = here / "imported-by"
    environment = {**ENVIRONMENT, "IMPORTED_BY": str(imported_by)}
    process = subprocess.Popen([sys.executable, "-m", "conformance", "--impl", "misbehaving:rnn", *FEW],
                               cwd=here, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, out[-2000:] + err[-2000:]
    importers = {int(line) for line in imported_by.read_text().split()}
    assert importers and process.pid not in importers  # the probe and the worker did, the command did not


def test_a_loop_that_raises_keyboard_interrupt_is_a_crash_not_not_installed(here):
    result = run_command("--impl", "misbehaving:interrupts", *FEW, "--report", "r.json", cwd=here)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    (backend,) = json.loads((here / "r.json").read_text())["backends"]
    assert backend["status"] != "not-installed", backend
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("impl:misbehaving:interrupts [eager] ")]
    assert "n/i" not in row, row
    assert backend["status"] == "diverges" and any(r["outcome"] == "crash" for r in backend["results"]), backend


def test_a_worker_that_ends_without_a_report_is_an_error_with_the_reason(here):
    command = Command("--impl", "misbehaving:hangs_catching_everything", *FEW, "--example-timeout", "600",
                      "--report", "r.json", cwd=here)
    worker = command.worker_pid(HANGS)
    command.wait_for(r"\[impl:misbehaving:hangs_catching_everything\] \d+/\d+ tests")
    time.sleep(5)  # inside its first test, waiting on the hanging loop
    os.kill(worker, signal.SIGKILL)
    status, out, err = command.finish(timeout=120)
    assert status == 1, out[-3000:] + err[-3000:]
    (backend,) = json.loads((here / "r.json").read_text())["backends"]
    assert backend["status"] == "error", backend
    assert "was killed by signal 9" in backend["reason"] and "last test: " in backend["reason"]


def test_a_loop_that_ends_its_process_is_a_crash_of_the_loop(here):
    """It ends the worker process the loop runs in (conformance/backends/impl_side.py), not
    the pytest worker: every property reports it, and the run goes on."""
    result = run_command("--impl", "misbehaving:ends_the_process", *FEW, "--fail-fast", "--report", "r.json", cwd=here)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    (backend,) = json.loads((here / "r.json").read_text())["backends"]
    assert backend["status"] == "diverges", backend
    crashes = [r for r in backend["results"] if r["outcome"] == "crash"]
    assert crashes and all("the impl worker died (exit status 0)" in r["summary"] for r in crashes)


def test_a_backend_named_twice_runs_once(here):
    result = run_command("--backends", "reference,reference", *FEW, "--report", "r.json", cwd=here)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("[reference] started") == 1
    assert [b["name"] for b in json.loads((here / "r.json").read_text())["backends"]] == ["reference"]


def test_the_run_ends_with_matrix_divergences_and_the_verdict_last(here):
    result = run_command("--impl", "numpy_rnn:rnn_states_not_masked", *FEW, "--report", "r.json", cwd=here)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.index("impl:numpy_rnn:rnn_states_not_masked [eager]") < out.index("New divergences:")
    written = json.loads((here / "r.json").read_text())
    summary = report_module.summary_text(written).strip()
    assert out.rstrip().endswith(summary)
    assert out.index("New divergences:") < out.rindex(summary.splitlines()[0])


def test_a_custom_known_divergence_file_reaches_the_workers(here):
    """An entry for the reference (which conforms) does not reproduce: FIXED, exit 1."""
    write_made_up_entry(here / "mine.toml", "reference-made-up", "numpy", "the reference conforms, so this entry cannot reproduce")
    result = run_command("--backends", "reference", *FEW, "--known-divergences", "mine.toml", "--report", "r.json", cwd=here)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((here / "r.json").read_text())["backends"][0]["results"]
    [fixed] = [r for r in results if r["known_divergence"] == "reference-made-up"]
    assert fixed["outcome"] == "known-fixed" and fixed["edit"] == {"versions": f">=1,<{fixed['tested_version']}"}
    assert fixed["known_file"] == str(here / "mine.toml")
    assert "FIXED reference-made-up on reference [eager]: its case agrees with the reference on numpy " in result.stdout


def _tests_done(out, name):
    done, total = re.search(rf"\[{re.escape(name)}\] finished in \d+ s: (\d+)/(\d+) tests", out).groups()
    return int(done), int(total)


def test_fail_fast_stops_a_backend_at_its_first_new_divergence(here):
    name = "impl:numpy_rnn:rnn_states_not_masked"
    fast = run_command("--impl", name[5:], *FEW, "--fail-fast", "--report", "r.json", cwd=here)
    assert fast.returncode == 1, fast.stdout[-3000:] + fast.stderr[-3000:]
    done, total = _tests_done(fast.stdout, name)
    assert 1 <= done < total, fast.stdout[-2000:]
    failing = [r for r in json.loads((here / "r.json").read_text())["backends"][0]["results"] if r["outcome"] == "fail"]
    assert len(failing) == 1 and failing[0]["example"] and failing[0]["reproducer"]  # shrunk and reported
    full = run_command("--impl", name[5:], *FEW, cwd=here)
    assert _tests_done(full.stdout, name) == (total, total)


def test_backend_timeout_kills_a_loop_that_swallows_the_example_timeout(here):
    started = time.monotonic()
    result = run_command("--impl", "misbehaving:hangs_catching_everything", *FEW, "--example-timeout", "1",
                         "--backend-timeout", "20", "--report", "r.json", cwd=here, timeout=180)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert time.monotonic() - started < 90
    (backend,) = json.loads((here / "r.json").read_text())["backends"]
    assert backend["status"] == "error"
    assert "no result after 20 s (--backend-timeout)" in backend["reason"]
    assert "last test: properties/test_" in backend["reason"] and "hangs_catching_everything" in backend["reason"]


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_ends_every_worker_and_writes_a_partial_report(here, number, status):
    command = Command("--impl", "misbehaving:hangs_catching_everything", "--backends", "reference", "--jobs", "2",
                      *FEW, "--report", "r.json", "--markdown", "m.md", cwd=here)
    hanging = command.worker_pid(HANGS)
    command.wait_for(r"\[reference\] finished")
    command.process.send_signal(number)
    code, out, err = command.finish()
    assert code == status, out[-2000:] + err[-2000:]
    assert "Traceback" not in err and "Traceback" not in out, err
    assert not alive(hanging), "the hanging worker outlived the command"
    partial = json.loads((here / "r.json").read_text())
    assert partial["interrupted"] is True and partial["exit_status"] == status
    statuses = {b["name"]: b["status"] for b in partial["backends"]}
    assert statuses == {"reference": "conforms", HANGS: "error"}
    assert (here / "m.md").exists()


@pytest.mark.parametrize("ci, profile", [(None, "dev"), ("true", "ci")])
def test_the_default_profile_is_ci_under_ci_else_dev(here, ci, profile):
    """One rule, as docs/running.md and --help say (conformance.base.profiles.default_profile)."""
    environment = {k: v for k, v in ENVIRONMENT.items() if k != "CI"} | ({"CI": ci} if ci else {})
    result = run_command("--backends", "reference", *FEW, "--report", "r.json", cwd=here, env=environment)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads((here / "r.json").read_text())["profile"] == profile


def test_a_report_in_which_no_property_ran_is_an_error_not_a_pass(tmp_path):
    """A worker that exits 0 with a report of skips only (say, every test skipped) did not test."""
    from conformance.backends import get_backend
    from conformance.command.workers import Worker

    worker = Worker(get_backend("reference"), [], tmp_path, tmp_path)
    worker.process = worker.parts[0].process = subprocess.Popen(["true"])
    worker.process.wait()
    skipped = {"mode": "eager", "property": "p", "outcome": "not-applicable"}
    worker.report_path.write_text(json.dumps({"backends": [{"name": "reference", "status": "conforms", "reason": None,
                                                            "results": [skipped]}]}))
    finished, error = worker.outcome()
    assert finished is None and error.startswith("no property ran"), error


def test_the_directory_s_own_pytest_configuration_does_not_configure_the_workers(here):
    """A Keras checkout's pyproject.toml sets `filterwarnings = error` and options of its own:
    the workers take the suite's configuration (conformance/worker_pytest.ini) instead."""
    (here / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "--no-such-option"\nfilterwarnings = ["error"]\n')
    result = run_command("--impl", "numpy_rnn:rnn", *FEW, cwd=here)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_replay_that_cannot_run_is_never_reported_as_reproduced(here):
    """An entry whose package cannot be imported where its row runs: the replay fails
    without a verdict, which is a CHANGED entry (exit 1), never a reproduced one."""
    write_made_up_entry(here / "mine.toml", "reference-of-a-missing-package", "no_such_package_here", "its package is nowhere")
    result = run_command("--backends", "reference", *FEW, "--known-divergences", "mine.toml", "--report", "r.json", cwd=here)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    [replayed] = [r for r in json.loads((here / "r.json").read_text())["backends"][0]["results"] if r["replay"]]
    assert replayed["outcome"] == "known-changed" and "cannot be imported" in replayed["summary"]
