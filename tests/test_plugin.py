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


def run_command(*args):
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=600)


def test_command_unknown_backend_exits_2_with_one_line():
    result = run_command("--backends", "nope")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-conformance: error: unknown backend 'nope'; valid names: ")
    assert "fixed-tensorflow" in lines[0] and "keras2-theano" in lines[0]


def test_command_passes_on_the_reference_row():
    result = run_command("--backends", "reference", "--profile", "ci")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "passed" in result.stdout and "failed" not in result.stdout
