"""The benchmark command runs end to end (tiny sizes) and refuses bad names cleanly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # each test runs python -m benchmarks.bench

ROOT = Path(__file__).resolve().parents[2]


def bench(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmarks.bench", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_quick_run_measures_the_reference_and_records_the_machine(tmp_path):
    path = tmp_path / "bench.json"
    done = bench("--quick", "--parts", "growth,overhead", "--backends", "reference", "--json", str(path))
    assert done.returncode == 0, done.stderr
    results = json.loads(path.read_text())
    machine = results["machine"]
    assert machine["cpu_count"] >= 1 and machine["python"] and machine["platform"]
    assert machine["versions"]["numpy"] and machine["versions"]["hypothesis"]
    assert "theano" in machine["versions"]  # null where not installed, but always listed
    (growth,) = results["parts"]["growth"]["rows"]
    assert (growth["backend"], growth["skipped"]) == ("reference", None)
    assert all(s > 0 for axis in ("T", "B") for s in growth[axis]["seconds"])
    (overhead,) = results["parts"]["overhead"]["rows"]
    assert overhead["backend"] == "reference" and overhead["harness_seconds"] > 0 and overhead["bare_seconds"] > 0
    assert "growth:" in done.stdout and "overhead:" in done.stdout


def test_unknown_part_is_one_line_and_exit_status_2():
    done = bench("--parts", "growth,nope")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "nope" in done.stderr


def test_unknown_backend_is_one_line_and_exit_status_2():
    done = bench("--backends", "no-such-backend")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "no-such-backend" in done.stderr


def test_the_failure_part_finds_and_shrinks_the_2018_loop(tmp_path):
    """What the part reports, not how fast (timings are the benchmark's to print)."""
    pytest.importorskip("tensorflow", reason="NOT INSTALLED: tensorflow (needed for the 2018 loop)")
    path = tmp_path / "bench.json"
    done = bench("--parts", "failure", "--backends", "tensorflow-2018", "--json", str(path))
    assert done.returncode == 0, done.stderr
    failure = json.loads(path.read_text())["parts"]["failure"]
    assert failure["found"] and failure["examples_to_first_failure"] >= 1
    assert failure["minimal_batch"] == 1 and failure["minimal_steps"] <= 3


def test_the_fail_fast_part_times_the_whole_command_to_exit_status_1(tmp_path):
    """The command with --fail-fast on the 2018 loop: exit 1, the divergence reported
    (whether it met 60 s is the benchmark's to print)."""
    pytest.importorskip("tensorflow", reason="NOT INSTALLED: tensorflow (needed for the 2018 loop)")
    path = tmp_path / "bench.json"
    done = bench("--quick", "--parts", "fail-fast", "--backends", "tensorflow-2018", "--json", str(path))
    assert done.returncode == 0, done.stderr
    part = json.loads(path.read_text())["parts"]["fail-fast"]
    assert part["skipped"] is None and part["exit_status"] == 1, part
    assert part["new_divergences"] >= 1 and part["first_rule"] and part["minimal_example"], part
    assert part["seconds"] > 0 and "FAILED" in part["last_line"]
    assert "fail-fast:" in done.stdout


def test_the_fail_fast_part_is_skipped_for_other_backends(tmp_path):
    path = tmp_path / "bench.json"
    done = bench("--parts", "fail-fast", "--backends", "reference", "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text())["parts"]["fail-fast"]["skipped"] == "not selected by --backends"
