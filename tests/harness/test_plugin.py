"""The pytest plugin and the command: backend selection, missing frameworks, exit codes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]

GHOST_CONFTEST = """
from conformance.contract import reference
from conformance.backends import BACKENDS
from conformance.backends.numpy_function import NumpyFunctionBackend


class Ghost(NumpyFunctionBackend):
    packages = ("no_such_framework_for_rnn_conformance",)
    extra = "ghost"


BACKENDS["ghost"] = Ghost("ghost", reference.rnn)
pytest_plugins = ["conformance.plugin"]
"""

PROPERTY = """
def test_property(target):
    assert target.backend.name == "reference"
"""


@pytest.fixture
def project(pytester):
    pytester.makeconftest(GHOST_CONFTEST)
    pytester.makepyfile(test_property=PROPERTY)
    return pytester


@pytest.mark.e2e
def test_unknown_backend_is_a_one_line_usage_error(project):
    result = project.runpytest_subprocess("--backends", "reference,nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if "nope" in line]
    assert len(errors) == 1 and errors[0].startswith("ERROR: unknown backend 'nope'; valid names: reference, ")
    assert all(name in errors[0] for name in ("fixed-tensorflow", "tensorflow-2018", "keras-jax", "ghost"))
    assert "Traceback" not in result.stderr.str()


@pytest.mark.e2e
def test_unsupported_backend_says_why(project):
    result = project.runpytest_subprocess("--backends", "keras2-cntk")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*keras2-cntk*unsupported*CNTK has no build*"])


@pytest.mark.e2e
def test_requested_backend_that_is_not_installed_fails_loudly(project):
    result = project.runpytest_subprocess("--backends", "ghost")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NOT INSTALLED: backend ghost needs the Python package 'no_such_framework_for_rnn_conformance'*"])


@pytest.mark.e2e
def test_default_run_reports_a_missing_backend_and_never_passes_it(project):
    result = project.runpytest_subprocess("-rs", "-k", "ghost or reference")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1  # the reference row only
    assert outcomes.get("skipped", 0) >= 1
    result.stdout.fnmatch_lines(["*rnn-conformance backends*", "*ghost: NOT INSTALLED*"])
    assert "ghost-eager PASSED" not in result.stdout.str()


@pytest.mark.e2e
def test_a_report_under_pytest_xdist_is_a_usage_error_not_an_empty_file(project):
    """Under -n the results stay in xdist's workers: a report written by the controller
    would be empty, so asking for one is refused in one line."""
    pytest.importorskip("xdist", reason="NOT INSTALLED: pytest-xdist (the dev extra)")
    result = project.runpytest_subprocess("-n", "2", "--backends", "reference", "--report", "r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--report cannot be written under pytest-xdist (-n)*rnn-conformance --jobs N*"])
    assert not (project.path / "r.json").exists()


@pytest.mark.e2e
def test_pytest_xdist_runs_the_properties_and_says_where_the_matrix_is(project):
    pytest.importorskip("xdist", reason="NOT INSTALLED: pytest-xdist (the dev extra)")
    result = project.runpytest_subprocess("-n", "2", "--backends", "reference")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*under pytest-xdist the per-backend speed and the divergence matrix stay in the workers*"])


# The 2018 bug (a masked step emits states[0]) in tests/impls/numpy_rnn.py, declared as
# known with the case keras-numpy's entry of the same bug saved. The condition holds for
# every example (the variant also crashes on stateless cells): each failure is excused.
DECLARED = """
[[divergence]]
id = "myrnn-masked-output-from-states0"
backend = "impl:myrnn:rnn_masked_output_from_states0"
package = "numpy"
versions = ">=1"
modes = ["eager"]
condition = "batch >= 1"
rule = "R4"
shows_as = ["any"]
property = "test_agreement::test_agrees_with_reference"
reason = "keras#11472: a masked step emits states[0]"
example = "{case}"
"""


@pytest.mark.e2e
def test_a_pytest_run_ends_with_the_summary_and_its_report_counts_what_each_entry_excused(pytester):
    """The plugin prints report.summary_text last (speed, the declared divergences met and
    how often, the verdict), from the same results the JSON report carries."""
    shutil.copy(REPOSITORY / "tests" / "impls" / "numpy_rnn.py", pytester.path / "myrnn.py")
    case = REPOSITORY / "conformance" / "known" / "keras-numpy-masked-output-from-states0.json"
    (pytester.path / "known.toml").write_text(DECLARED.format(case=case.as_posix()))
    result = pytester.runpytest_subprocess(
        "-p", "conformance.plugin", "-p", "no:cacheprovider", "--pyargs", "conformance", "--max-examples", "3",
        "--impl", "myrnn:rnn_masked_output_from_states0", "--known-divergences", "known.toml", "--report", "r.json",
    )
    lines = result.stdout.lines
    (verdict,) = [i for i, line in enumerate(lines) if line.startswith("rnn-conformance: ")]
    assert lines[verdict].startswith("rnn-conformance: PASSED (exit status 0): no new divergences; 1 declared divergence reproduced; ")
    assert lines[verdict].endswith("ran fewer examples than their areas, as --max-examples asked (uncovered in the matrix)")
    assert result.ret == 0, result.stdout.str()[-3000:]
    (backend,) = json.loads((pytester.path / "r.json").read_text())["backends"]
    known = [r for r in backend["results"] if r["outcome"] == "known"]
    excused = sum(r["excused"] or 0 for r in known)
    assert excused > 0 and any(r["replay"] for r in known)
    met = f"  myrnn-masked-output-from-states0 on impl:myrnn:rnn_masked_output_from_states0: eager {excused} excused, its case reproduced"
    assert lines[verdict - 2:verdict] == ["declared divergences met (examples excused per mode):", met]
    assert lines[verdict - 3].startswith("  impl:myrnn:rnn_masked_output_from_states0 [eager]: ")  # its speed


@pytest.mark.e2e
def test_layer_gradients_run_on_the_layer_rows_by_default():
    """L7 is part of every run of a layer row: its properties are collected with no option,
    and the suite's own tests of L7 (tests/properties/test_layer_gradients.py, same basename) too."""
    root = Path(__file__).resolve().parents[2]
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                "conformance/properties/test_layer_gradients.py", "--backends", "layer-keras-numpy"],
                               capture_output=True, text=True, cwd=root, timeout=600)
    assert "test_layer_gradients_agree_with_reference[layer-keras-numpy-call]" in collected.stdout, collected.stdout[-2000:]
    assert "test_training_step_follows_reference_gradient[layer-keras-numpy-predict]" in collected.stdout
    assert "deselected" not in collected.stdout
    own = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "tests/properties/test_layer_gradients.py"], capture_output=True, text=True, cwd=root, timeout=600)
    assert "tests/properties/test_layer_gradients.py::" in own.stdout and "deselected" not in own.stdout, own.stdout[-2000:]
