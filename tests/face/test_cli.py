"""The `rnn-conformance` command, run for real: exit statuses, the matrix, the JSON report,
third-party implementations (`--impl`) and the reproducers it writes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.backends import BACKENDS

REPOSITORY = Path(__file__).resolve().parents[2]
CORRECT_AND_FAULTY = REPOSITORY / "tests" / "impls" / "numpy_rnn.py"

# Each faulty variant of tests/impls/numpy_rnn.py and the rule the report must name.
FAULTY_VARIANTS = [
    ("rnn_states_not_masked", "R3"),
    ("rnn_mask_not_reversed", "R8"),
    ("rnn_return_all_outputs_ignored", "R7"),
    ("rnn_one_step_less", "R1"),
]


def run_command(*args, cwd=REPOSITORY):
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=900, cwd=cwd
    )


def broken_rules(report):
    return {r["rule"] for b in report["backends"] for r in b["results"] if r["outcome"] in ("fail", "crash")}


@pytest.fixture
def impl_dir(tmp_path):
    """A directory holding `myrnn.py` (the correct loop and its faulty variants)."""
    shutil.copy(CORRECT_AND_FAULTY, tmp_path / "myrnn.py")
    return tmp_path


# -- exit status 2: usage errors, one line each -------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--backends", "nope"], "unknown backend 'nope'; valid names: "),
        (["--backends", "keras2-cntk"], "unsupported: CNTK has no build"),
        (["--impl", "no_such_module_anywhere:rnn"], "cannot import no_such_module_anywhere"),
        (["--impl", "json:no_such_function"], "json has no function 'no_such_function'"),
        (["--impl", "json"], "--impl needs MODULE:FUNCTION"),
        (["--jobs", "0"], "argument --jobs: must be at least 1"),
        (["--profile", "fast"], "argument --profile: invalid choice"),
        (["--impl-ops", "cupy", "--impl", "json:dumps"], "argument --impl-ops: invalid choice"),
    ],
)
@pytest.mark.e2e
def test_usage_errors_exit_2_with_one_line(arguments, message):
    result = run_command(*arguments)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-conformance: error: "), result.stderr
    assert message in lines[0]


# -- exit status 3: nothing could be tested -------------------------------------------------


@pytest.mark.e2e
def test_a_named_backend_that_is_not_installed_exits_3(tmp_path):
    """keras2-theano runs in a managed environment; one that cannot be created (its
    directory cannot be made) leaves it NOT INSTALLED, with the reason: exit 3."""
    result = run_command("--backends", "keras2-theano", "--env-dir", "/proc/rnn-conformance-cannot-write-here")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "keras2-theano: NOT INSTALLED: cannot create the theano environment under /proc/" in result.stdout
    assert "n/i" in result.stdout  # its row in the matrix says so


# -- exit status 0 and 1 ------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_reference_row_exits_0_with_a_matrix_and_a_report(tmp_path):
    report_path, markdown = tmp_path / "report.json", tmp_path / "matrix.md"
    result = run_command("--backends", "reference", "--report", str(report_path), "--markdown", str(markdown))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[reference] finished" in result.stdout
    assert "reference [eager]" in result.stdout and "mask-out" in result.stdout
    report = json.loads(report_path.read_text())
    assert (report["schema"], report["schema_version"], report["exit_status"]) == ("rnn-conformance-report", 1, 0)
    (backend,) = report["backends"]
    assert backend["name"] == "reference" and backend["status"] == "conforms"
    assert {r["outcome"] for r in backend["results"]} == {"pass", "not-applicable"}
    # the reference has no autodiff: its gradient properties are not applicable (section 4)
    assert {r["property"].split("::")[0] for r in backend["results"] if r["outcome"] == "not-applicable"} == {"test_gradients"}
    speed = backend["speed"]["eager"]
    assert speed["examples"] >= 25 and speed["seconds"] > 0 and speed["traced"] == speed["reused"] == 0
    assert "| `reference [eager]` |" in markdown.read_text()


@pytest.mark.e2e
def test_a_correct_third_party_loop_exits_0_and_two_backends_run_side_by_side(impl_dir):
    result = run_command("--impl", "myrnn:rnn", "--backends", "reference", "--jobs", "2", "--max-examples", "10",
                         "--report", "r.json", cwd=impl_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    statuses = {b["name"]: b["status"] for b in json.loads((impl_dir / "r.json").read_text())["backends"]}
    assert statuses == {"reference": "conforms", "impl:myrnn:rnn": "conforms"}


@pytest.mark.parametrize("variant, rule", FAULTY_VARIANTS)
@pytest.mark.e2e
def test_a_faulty_third_party_loop_exits_1_and_the_report_names_its_rule(impl_dir, variant, rule):
    result = run_command("--impl", f"myrnn:{variant}", "--max-examples", "10", "--report", "r.json", cwd=impl_dir)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((impl_dir / "r.json").read_text())
    assert report["backends"][0]["status"] == "diverges"
    assert rule in broken_rules(report), broken_rules(report)
    assert "New divergences:" in result.stdout and "DIVERGES" in result.stdout


@pytest.mark.e2e
def test_a_reproducer_fails_while_the_loop_is_faulty_and_passes_once_it_is_fixed(impl_dir):
    (impl_dir / "myrnn.py").write_text(CORRECT_AND_FAULTY.read_text() + "\nrnn_checked = rnn_states_not_masked\n")
    result = run_command("--impl", "myrnn:rnn_checked", "--max-examples", "10", "--report", "r.json", cwd=impl_dir)
    assert result.returncode == 1, result.stdout[-3000:]
    report = json.loads((impl_dir / "r.json").read_text())
    scripts = [r["reproducer"] for b in report["backends"] for r in b["results"] if r["reproducer"]]
    assert scripts, report
    script = impl_dir / scripts[0]

    def run_script():  # as its author would: with their package importable
        environment = {**os.environ, "PYTHONPATH": str(impl_dir)}
        return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=environment)

    faulty = run_script()
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    (impl_dir / "myrnn.py").write_text(CORRECT_AND_FAULTY.read_text() + "\nrnn_checked = rnn\n")  # the fix
    fixed = run_script()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


@pytest.mark.e2e
def test_list_names_every_backend_and_whether_it_is_installed():
    result = run_command("list")
    assert result.returncode == 0
    for name in BACKENDS:
        assert f"{name}: " in result.stdout
    assert "keras2-cntk: unsupported" in result.stdout


def test_a_hanging_loop_is_a_crash_after_the_example_timeout():
    """--example-timeout bounds each example; the hang is reported as a divergence."""
    import time

    from cells.catalog import report_2018_example
    from conformance.judge import run_state
    from conformance.properties import test_agreement
    from conformance.judge.assertions import Divergence
    from conformance.backends.numpy_function import NumpyFunctionBackend
    from conformance.judge.targets import Target

    def hangs(*args, **kwargs):
        time.sleep(60)

    hanging = Target(NumpyFunctionBackend("hangs", hangs), "eager")
    started = time.monotonic()
    with run_state.running(run_state.RunState(example_timeout=1)), pytest.raises(Divergence) as failure:
        test_agreement.test_agrees_with_reference.hypothesis.inner_test(target=hanging, example=report_2018_example())
    assert time.monotonic() - started < 10
    assert failure.value.crash.startswith("ExampleTimeout: no result after 1 s"), failure.value.crash


def test_workers_with_the_most_compiled_modes_start_first():
    """--jobs > 1: the long workers must not start last and run alone."""
    from conformance.backends import get_backend
    from conformance.command.workers import longest_first

    given = ["reference", "keras-jax", "layer-keras-numpy", "fixed-tensorflow", "layer-keras-tensorflow"]
    order = [b.name for b in longest_first([get_backend(name) for name in given])]
    assert order == ["fixed-tensorflow", "keras-jax", "layer-keras-tensorflow", "layer-keras-numpy", "reference"]


def test_workers_start_by_their_measured_cost_and_unmeasured_rows_after():
    """The measured cost decides (layer-keras-jax, one compiled mode, is the longest row),
    and a row without a measurement (an --impl loop, a new row) follows the measured ones."""
    from types import SimpleNamespace

    from conformance.backends import get_backend
    from conformance.command.row_costs import MEASURED_SECONDS
    from conformance.command.workers import longest_first

    unmeasured = SimpleNamespace(name="impl:mine", compiled_modes=("jit",), modes=("eager", "jit"))
    given = [get_backend("keras-tensorflow"), unmeasured, get_backend("layer-keras-jax"), get_backend("builtin-keras-numpy")]
    order = [b.name for b in longest_first(given)]
    assert order == ["layer-keras-jax", "keras-tensorflow", "builtin-keras-numpy", "impl:mine"]
    assert set(MEASURED_SECONDS) <= {b.name for b in map(get_backend, MEASURED_SECONDS)}  # every name a row
