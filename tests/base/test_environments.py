"""Managed environments (conformance/base/environments.py) and the pytest delegation to them
(conformance/base/delegation.py, conformance/properties/test_environments.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.base import delegation
from conformance.base import environments
from conformance.base.environments import EnvironmentFailure, EnvironmentSpec

ROOT = Path(__file__).resolve().parents[2]


def test_the_key_changes_with_the_requirements_and_the_kind():
    a = EnvironmentSpec("x", ("numpy==1.23.5",))
    assert a.key() == EnvironmentSpec("x", ("numpy==1.23.5",)).key()
    assert a.key() != EnvironmentSpec("x", ("numpy==1.23.4",)).key()
    assert a.key() != EnvironmentSpec("x", ("numpy==1.23.5",), overlay=True).key()


def test_a_full_environment_pins_the_suites_own_dependencies_to_this_process():
    pins = dict(pin.split("==") for pin in EnvironmentSpec("x", ()).pins())
    import hypothesis

    assert pins["hypothesis"] == hypothesis.__version__  # the same `ci` sample everywhere
    assert EnvironmentSpec("x", (), overlay=True).pins() == ()  # an overlay sees this process's own


def test_the_theano_requirements_are_read_from_the_package():
    spec = EnvironmentSpec.from_file("theano", "theano.txt")
    assert "numpy==1.23.5" in spec.requirements and "Theano==1.0.5" in spec.requirements
    assert not any(line.startswith("#") for line in spec.requirements)


def test_pips_configuration_becomes_uvs_flags():
    listing = ":env:.find-links='/opt/wheels'\nglobal.constraint='/etc/c.txt'\n" \
              "global.extra-index-url='file:///a/simple file:///b/simple'\nglobal.find-links='/opt/wheels'\nglobal.cert='/x'\n"
    flags = environments.uv_pip_config(listing)
    assert flags == ["--find-links", "/opt/wheels", "--constraint", "/etc/c.txt", "--extra-index-url", "file:///a/simple",
                     "--extra-index-url", "file:///b/simple", "--index-strategy", "unsafe-best-match"]


@pytest.mark.e2e
def test_a_creation_that_fails_says_where_and_why_and_is_not_kept(tmp_path):
    spec = EnvironmentSpec("broken", ("this is not a requirement ==",), overlay=True)
    said = []
    with pytest.raises(EnvironmentFailure) as failure:
        environments.ensure(spec, tmp_path, say=said.append)
    message = str(failure.value)
    assert "creating the broken environment failed at install" in message and "(log: " in message
    log = Path(message.rsplit("(log: ", 1)[1].rstrip(")"))
    assert log.exists() and "this is not a requirement" in log.read_text()
    assert environments.existing(spec, tmp_path) is None  # no marker: the next run tries again
    assert said and "creating" in said[0]


def test_an_unwritable_directory_is_a_failure_not_a_traceback():
    with pytest.raises(EnvironmentFailure, match="cannot create the x environment under /proc/"):
        environments.ensure(EnvironmentSpec("x", ()), "/proc/rnn-conformance-cannot-write-here")


@pytest.mark.e2e
def test_an_overlay_sees_this_environment_behind_its_own_and_is_reused(tmp_path):
    spec = EnvironmentSpec("overlay", (), overlay=True)
    made = environments.ensure(spec, tmp_path, say=lambda line: None)
    marker = made.created()
    probe = "import hypothesis, conformance, sys; print(hypothesis.__version__, sys.prefix)"
    out = subprocess.run([str(made.python), "-c", probe], capture_output=True, text=True, env=made.worker_env())
    import hypothesis

    assert out.returncode == 0, out.stderr
    version, prefix = out.stdout.split()
    assert version == hypothesis.__version__ and Path(prefix) == made.path
    again = environments.ensure(spec, tmp_path, say=lambda line: pytest.fail(f"created twice: {line}"))
    assert again.path == made.path and again.created() == marker


class _Config:
    def __init__(self, **given):
        self.given = given

    def getoption(self, name, default=None):
        return self.given.get(name, default)


def test_the_delegated_run_gets_the_options_that_decide_the_sample_and_the_verdict(tmp_path):
    environment = environments.Environment(EnvironmentSpec("theano", ()), tmp_path)
    config = _Config(**{"--hypothesis-profile": "ci", "--max-examples": 3, "--hypothesis-seed": 7, "--ignore-known": True,
                        "--repro-dir": "r", "--shrink-seconds": 0.0})
    line = delegation.command(environment, ("keras2-theano",), config)
    assert line[0] == str(tmp_path / "bin" / "python")
    joined = " ".join(line)
    for part in ("--hypothesis-profile ci", "--max-examples 3", "--hypothesis-seed 7", "--ignore-known",
                 "--backends keras2-theano", "--shrink-seconds 0.0", "--pyargs conformance"):
        assert part in joined
    assert str(ROOT / "tests" / "replay" / "test_gradient_reproducers.py") in line  # its own tests run there too


@pytest.mark.e2e
def test_pytest_fails_a_delegated_environment_that_cannot_be_created(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(ROOT / "conformance" / "properties" / "test_environments.py"),
         "--env-dir", "/proc/rnn-conformance-cannot-write-here", "--repro-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "NOT INSTALLED: keras2-theano, layer-keras2-theano, builtin-keras2-theano: cannot create the theano environment" in result.stdout
    assert "1 failed" in result.stdout
