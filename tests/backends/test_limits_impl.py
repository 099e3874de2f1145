"""`--impl` modules: imported only where they are tested, and any way an import can end
(sys.exit, KeyboardInterrupt, any BaseException) is one line, never the end of the run.

A KeyboardInterrupt the loop raises itself is a crash of the loop; a real Ctrl-C still
stops pytest.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.backends import BACKENDS, register_impl
from conformance.backends.impl import ImplBackend, ImplError

REPOSITORY = Path(__file__).resolve().parents[2]
IMPLS = REPOSITORY / "tests" / "impls"


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name, source):
        (tmp_path / f"{name}.py").write_text(source)
        return name

    yield write
    for name in [p.stem for p in tmp_path.glob("*.py")]:
        sys.modules.pop(name, None)


@pytest.mark.e2e  # the --impl loop runs in a worker process of its own (conformance/backends/impl_side.py)
def test_constructing_the_backend_imports_nothing(module_dir, monkeypatch):
    name = module_dir("lazy_impl", "import sys\nsys.exit(3)\n")
    backend = ImplBackend(f"{name}:rnn")
    assert name not in sys.modules and backend.name == f"impl:{name}:rnn"
    monkeypatch.setitem(BACKENDS, backend.name, None)  # registered for this test only: gone at its end
    register_impl(f"{name}:rnn", load=False)
    assert name not in sys.modules
    with pytest.raises(ImplError):
        backend.load()


@pytest.mark.parametrize(
    "source, message",
    [
        ("import sys\nsys.exit(0)\n", "{name} called sys.exit(0) at import"),
        ("import sys\nsys.exit('bye')\n", "{name} called sys.exit('bye') at import"),
        ("raise KeyboardInterrupt\n", "cannot import {name}: KeyboardInterrupt"),
        ("class Stop(BaseException):\n    pass\nraise Stop('two\\nlines')\n", "cannot import {name}: Stop: two lines"),
        ("raise ValueError('bad')\n", "cannot import {name}: ValueError: bad"),
    ],
)
@pytest.mark.e2e  # the --impl loop runs in a worker process of its own (conformance/backends/impl_side.py)
def test_every_way_an_import_can_end_is_one_line(module_dir, source, message):
    name = module_dir(f"ends_{abs(hash(source))}", source)
    with pytest.raises(ImplError) as failure:
        register_impl(f"{name}:rnn")
    assert message.format(name=name) in str(failure.value)
    assert "\n" not in str(failure.value)


def _pytest(*arguments, **environment):
    """pytest on one property module in a process of its own, tests/impls importable."""
    environment = {**os.environ, "PYTHONPATH": str(IMPLS), **environment}
    environment.pop("CI", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "conformance/properties/test_structure.py", *arguments]
    return subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.e2e
def test_a_loop_that_raises_keyboard_interrupt_is_a_crash(tmp_path):
    report = tmp_path / "report.json"
    finished = _pytest("-k", "test_shapes_and_dtypes", "--impl", "interrupting_rnn:rnn_raises_keyboard_interrupt",
                       "--max-examples", "3", "--repro-dir", str(tmp_path), "--report", str(report))
    out, _ = finished.communicate(timeout=300)
    assert finished.returncode == 1, out
    results = [r for b in json.loads(report.read_text())["backends"] for r in b["results"]]
    assert [r["outcome"] for r in results] == ["crash"], results
    assert "CRASH: KeyboardInterrupt" in results[0]["summary"]


@pytest.mark.e2e
def test_a_real_ctrl_c_still_stops_pytest(tmp_path):
    marker = tmp_path / "sleeping"
    running = _pytest("-k", "test_shapes_and_dtypes", "--impl", "interrupting_rnn:rnn_sleeps", "--max-examples", "3",
                      "--repro-dir", str(tmp_path), SLEEPING_MARKER=str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and running.poll() is None:
        time.sleep(0.2)
    assert marker.exists(), "the loop never started"
    running.send_signal(signal.SIGINT)
    out, _ = running.communicate(timeout=60)
    assert running.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt" in out and "CRASH" not in out
