"""No hang, no orphan, no scattered output (issue 39): a child an --impl module starts at
import holds neither the import probe nor anything after it; killing the command ends its
workers; a module that changes directory at import leaves the cases where the command
said they would be."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from processes import alive

from conformance.command import impl_probe

pytestmark = pytest.mark.e2e  # each test starts the probe, the command or its workers

CORRECT_LOOP = "from numpy_rnn import rnn  # the correct NumPy loop of tests/impls\n"
IMPLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "impls")


@pytest.mark.parametrize("start", [
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']).pid",
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], stdout=sys.stdout, stderr=sys.stderr).pid",
    "child = os.fork()\nif child == 0:\n    time.sleep(600)\n    os._exit(0)",
], ids=["child", "child-holding-the-output", "fork"])
def test_a_child_started_at_import_holds_nothing(tmp_path, monkeypatch, start):
    (tmp_path / "forking_impl.py").write_text(
        "import os, subprocess, sys, time\n" + start + "\nopen('child.pid', 'w').write(str(child))\n" + CORRECT_LOOP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", IMPLS)
    began = time.monotonic()
    impl_probe.check_importable("forking_impl:rnn")
    assert time.monotonic() - began < 60  # the probe's timeout is 300 s
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.2)
    assert not alive(child), "a child of the probe outlived it"


def test_killing_the_command_ends_its_worker(tmp_path):
    command = subprocess.Popen([sys.executable, "-m", "conformance", "--backends", "keras-numpy", "--repro-dir", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    line = command.stdout.readline()  # "[keras-numpy] started (pid N)"
    worker = int(line.split("pid ")[1].split(")")[0])
    command.send_signal(signal.SIGKILL)
    command.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and alive(worker):
        time.sleep(0.2)
    assert not alive(worker), f"worker {worker} outlived the command"


def test_a_module_that_changes_directory_leaves_the_cases_where_the_command_said(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "wandering_impl.py").write_text(textwrap.dedent(f"""\
        import os
        os.chdir({str(tmp_path / "elsewhere")!r})
        from planted_rnn import rnn  # crashes in two regions: cases to save
        """))
    env = {**os.environ, "PYTHONPATH": IMPLS}
    done = subprocess.run([sys.executable, "-m", "conformance", "--impl", "wandering_impl:rnn", "--max-examples", "20", "--fail-fast",
                           "--repro-dir", "repros"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert list((tmp_path / "repros").glob("*.json")), done.stdout[-2000:]
    assert not list((tmp_path / "elsewhere").rglob("*.json"))
