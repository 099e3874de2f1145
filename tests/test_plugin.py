"""The pytest plugin and the command: backend selection, missing frameworks, exit codes."""

import subprocess
import sys

import pytest

GHOST_CONFTEST = """
from conformance import reference
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


def test_unknown_backend_is_a_one_line_usage_error(project):
    result = project.runpytest_subprocess("--backends", "reference,nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if "nope" in line]
    assert len(errors) == 1 and errors[0].startswith("ERROR: unknown backend 'nope'; valid names: reference, ")
    assert all(name in errors[0] for name in ("fixed-tensorflow", "tensorflow-2018", "keras-jax", "ghost"))
    assert "Traceback" not in result.stderr.str()


def test_unsupported_backend_says_why(project):
    result = project.runpytest_subprocess("--backends", "keras2-cntk")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*keras2-cntk*unsupported*CNTK has no build*"])


def test_requested_backend_that_is_not_installed_fails_loudly(project):
    result = project.runpytest_subprocess("--backends", "ghost")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NOT INSTALLED: backend ghost needs the Python package 'no_such_framework_for_rnn_conformance'*"])


def test_default_run_reports_a_missing_backend_and_never_passes_it(project):
    result = project.runpytest_subprocess("-rs", "-k", "ghost or reference")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1  # the reference row only
    assert outcomes.get("skipped", 0) >= 1
    result.stdout.fnmatch_lines(["*rnn-conformance backends*", "*ghost: NOT INSTALLED*"])
    assert "ghost-eager PASSED" not in result.stdout.str()


def test_a_report_under_pytest_xdist_is_a_usage_error_not_an_empty_file(project):
    """Under -n the results stay in xdist's workers: a report written by the controller
    would be empty, so asking for one is refused in one line."""
    pytest.importorskip("xdist", reason="NOT INSTALLED: pytest-xdist (the dev extra)")
    result = project.runpytest_subprocess("-n", "2", "--backends", "reference", "--report", "r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--report cannot be written under pytest-xdist (-n)*rnn-conformance --jobs N*"])
    assert not (project.path / "r.json").exists()


def test_pytest_xdist_runs_the_properties_and_says_where_the_matrix_is(project):
    pytest.importorskip("xdist", reason="NOT INSTALLED: pytest-xdist (the dev extra)")
    result = project.runpytest_subprocess("-n", "2", "--backends", "reference")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*under pytest-xdist the per-backend speed and the divergence matrix stay in the workers*"])
