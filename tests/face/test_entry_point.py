"""The suite's pytest plugin is reachable through a pytest11 entry point (issue 35), so
`pytest --pyargs conformance` runs from any directory, not only from the checkout whose
conftest.py loads it; and the entry point (conformance/pytest_entry.py) gives the plugin
only to a run that names the suite, so another project's tests in the same environment
keep their own options and Hypothesis settings."""

import os
import subprocess
import sys
from importlib import metadata

import pytest

from conformance.pytest_entry import PACKAGE, names_the_suite


def pytest_in(directory, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"], cwd=directory,
                          capture_output=True, text=True, timeout=300, env=env)


def test_the_distribution_declares_the_loader_as_a_pytest11_entry_point():
    entry_points = metadata.distribution("rnn-conformance").entry_points.select(group="pytest11")
    assert [(e.name, e.value) for e in entry_points] == [("rnn-conformance", "conformance.pytest_entry")]


@pytest.mark.e2e
def test_pytest_pyargs_conformance_runs_from_any_directory(tmp_path):
    """From a directory without the checkout's conftest.py, on the reference row alone."""
    done = pytest_in(tmp_path, "--pyargs", "conformance", "--backends", "reference", "-q")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "reference [eager]" in done.stdout, done.stdout[-3000:]


@pytest.mark.e2e
def test_another_project_s_tests_never_see_the_plugin(tmp_path):
    """Its own --report option, its Hypothesis settings and its `target` fixture are its own."""
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n"
        "def pytest_addoption(parser):\n    parser.addoption('--report', default='theirs')\n\n"
        "@pytest.fixture\ndef target():\n    return 'their target'\n")
    (tmp_path / "test_theirs.py").write_text(
        "from hypothesis import given, settings, strategies as st\n\n"
        "def test_own_option(request, target):\n    assert request.config.getoption('--report') == 'mine'\n"
        "    assert target == 'their target'\n\n"
        "@given(st.integers())\ndef test_own_profile(n):\n    assert settings.default.max_examples == 100\n")
    done = pytest_in(tmp_path, "--report", "mine", "-q")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rnn-conformance" not in done.stdout


def test_a_run_names_the_suite_by_its_package_or_a_path_inside_it(tmp_path, monkeypatch):
    assert names_the_suite(["--pyargs", "conformance", "--backends", "reference"])
    assert names_the_suite(["--pyargs", "conformance.properties.test_agreement::test_agrees_with_reference"])
    assert names_the_suite([str(PACKAGE / "properties" / "test_agreement.py") + "::test_agrees_with_reference"])
    assert names_the_suite([str(PACKAGE)])
    (tmp_path / "conformance").mkdir()  # a project's own folder of that name is not the suite
    monkeypatch.chdir(tmp_path)
    assert not names_the_suite([str(tmp_path / "conformance")]) and not names_the_suite(["conformance"])
    assert not names_the_suite(["tests", "-k", "conformance"]) and not names_the_suite([])
