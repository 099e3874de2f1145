"""`rnn-conformance gpu` (issue 41): on a machine without a GPU, one line and exit 0; with
one (faked here: the answers of the framework probes), the built-in rows of the frameworks
that see it, run by `run`'s machinery under the `gpu` profile with RNN_CONFORMANCE_GPU=1;
a framework not installed is said so, never counted as "no GPU"."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_backends import FakeBackend

from conformance import cli
from conformance.command import gpu_command, run_command, workers

REPOSITORY = Path(__file__).resolve().parents[2]
SKIPPED = "rnn-conformance gpu: no GPU visible ("


def fake_probes(monkeypatch, answers):
    """subprocess.run answering each framework's probe as `answers` says: (exit status,
    stdout, stderr), or TimeoutExpired; returns the commands it was given."""
    given = []

    def run(command, **kwargs):
        given.append(command)
        framework = next(f for f in answers if f"find_spec({f!r})" in command[-1])
        if answers[framework] is subprocess.TimeoutExpired:
            raise subprocess.TimeoutExpired(command, kwargs["timeout"])
        status, out, err = answers[framework]
        return subprocess.CompletedProcess(command, status, out, err)

    monkeypatch.setattr(gpu_command.subprocess, "run", run)
    return given


def test_the_probe_answers_are_read_into_rows_and_a_missing_framework_is_not_installed(monkeypatch):
    given = fake_probes(monkeypatch, {
        "tensorflow": (0, "2\n", "E0000 cuda_platform.cc:52] some driver noise\n"),
        "torch": (0, "not installed\n", ""),
        "jax": (0, "1\n", ""),
    })
    answers = gpu_command.detect()
    assert answers == {"tensorflow": 2, "torch": "not installed", "jax": 1}
    assert gpu_command.selected_rows(answers) == ["builtin-keras-tensorflow", "builtin-keras-jax"]
    assert gpu_command.said(answers) == "tensorflow: 2 GPUs, torch: not installed, jax: 1 GPU"
    assert len(given) == 3 and all(c[0] == sys.executable for c in given)


def test_no_gpu_a_failed_and_a_hung_probe_select_no_row_and_say_which_is_which(monkeypatch):
    fake_probes(monkeypatch, {
        "tensorflow": (0, "0\n", ""),
        "torch": (1, "", "Traceback (most recent call last):\nImportError: libcudnn.so.9: cannot open shared object file\n"),
        "jax": subprocess.TimeoutExpired,
    })
    answers = gpu_command.detect()
    assert gpu_command.selected_rows(answers) == []
    assert answers["tensorflow"] == 0 and answers["jax"] == f"probe timed out after {gpu_command.PROBE_TIMEOUT_S} s"
    assert answers["torch"] == "probe failed (exit 1: ImportError: libcudnn.so.9: cannot open shared object file)"
    assert gpu_command.said(answers).startswith("tensorflow: none, torch: probe failed")
    assert gpu_command.reading(-11, "1\n", "") == "probe failed (exit -11: no output)"  # a count, then a crash: not counted


def test_a_failed_probe_is_no_proof_of_no_gpu_the_skip_exits_1(monkeypatch, capsys):
    fake_probes(monkeypatch, {"tensorflow": (0, "0\n", ""), "torch": (0, "not installed\n", ""), "jax": subprocess.TimeoutExpired})
    assert cli.main(["gpu"]) == gpu_command.PROBE_FAILED == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(SKIPPED + "tensorflow: none, torch: not installed, jax: probe timed out")
    assert line.endswith("the GPU rows are skipped; the probe of jax failed: exit status 1")


def test_without_a_gpu_the_command_says_one_line_and_exits_0(monkeypatch, capsys):
    fake_probes(monkeypatch, {"tensorflow": (0, "0\n", ""), "torch": (0, "not installed\n", ""), "jax": (0, "0\n", "")})
    monkeypatch.setattr(run_command, "run", lambda *a: pytest.fail("ran without a GPU"))
    assert cli.main(["gpu"]) == 0
    out, err = capsys.readouterr()
    assert out == SKIPPED + "tensorflow: none, torch: not installed, jax: none): the GPU rows are skipped\n"
    assert err == ""


class BuiltinRow(FakeBackend):
    level = "builtin"
    modes = ("call", "predict")
    compiled_modes = ("predict",)
    environment = None

    def runs_in_environment(self):
        return False


@pytest.fixture
def gpu_seen(monkeypatch, tmp_path):
    """TensorFlow and JAX see a GPU, torch does not; the built-in rows exist (faked); `run`
    records what it was given instead of starting workers."""
    fake_probes(monkeypatch, {"tensorflow": (0, "1\n", ""), "torch": (0, "0\n", ""), "jax": (0, "1\n", "")})
    module = tmp_path / "test_builtin_layers.py"
    module.write_text("")
    monkeypatch.setattr(gpu_command, "BUILTIN_MODULE", module)
    monkeypatch.setattr(run_command, "get_backend", BuiltinRow)
    for name in (gpu_command.GPU_VARIABLE, *gpu_command.SHARED_GPU_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    ran = []
    monkeypatch.setattr(run_command, "run", lambda args, rows: ran.append((args, rows, dict(os.environ))) or 0)
    return ran


def test_with_a_gpu_the_command_builds_the_run_of_its_rows_profile_and_environment(gpu_seen, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")  # the user's own setting stands
    assert cli.main(["gpu", "--repro-dir", str(tmp_path / "repros"), "--report", str(tmp_path / "r.json")]) == 0
    [(args, rows, environment)] = gpu_seen
    assert [r.label for r in rows] == ["builtin-keras-tensorflow", "builtin-keras-jax"]
    assert args.profile == "gpu" and args.report == str(tmp_path / "r.json") and args.impl is None
    assert environment[gpu_command.GPU_VARIABLE] == "1"
    assert environment["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and environment["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
    assert gpu_command.GPU_VARIABLE not in os.environ and "TF_FORCE_GPU_ALLOW_GROWTH" not in os.environ  # put back
    command = workers.Worker(rows[0].backend, run_command.worker_options(args), tmp_path, tmp_path).command()
    assert command[command.index("--hypothesis-profile") + 1] == "gpu"
    assert command[command.index("--backends") + 1] == "builtin-keras-tensorflow"
    assert "--hypothesis-seed" not in command and not run_command.split_by_module(args)
    assert args.backend_timeout == cli.GPU_BACKEND_TIMEOUT
    assert capsys.readouterr().out.startswith("rnn-conformance gpu: tensorflow: 1 GPU, torch: none, jax: 1 GPU: running ")


def test_a_failed_probe_beside_a_gpu_runs_the_rows_it_can_and_exits_1(gpu_seen, monkeypatch, capsys):
    fake_probes(monkeypatch, {"tensorflow": (0, "1\n", ""), "torch": (1, "", "RuntimeError: CUDA driver too old\n"), "jax": (0, "0\n", "")})
    assert cli.main(["gpu"]) == 1
    [(_, rows, _)] = gpu_seen
    assert [r.label for r in rows] == ["builtin-keras-tensorflow"]
    assert capsys.readouterr().out.splitlines()[-1] == "rnn-conformance gpu: the probe of torch failed (see the first line): exit status 1"


def test_the_gpu_profile_keeps_its_budget_and_is_derandomized():
    from hypothesis import settings

    from conformance.base import profiles

    gpu = settings.get_profile("gpu")
    assert gpu.derandomize and gpu.database is None and gpu.max_examples == profiles.PROFILE_EXAMPLES["gpu"] == 10
    assert profiles.COMPILED_EXAMPLES["gpu"] == 4 and profiles.GRADIENT_EXAMPLES["gpu"] == 3


def test_without_the_builtin_module_a_gpu_gets_one_line_and_its_own_status(gpu_seen, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gpu_command, "BUILTIN_MODULE", tmp_path / "conformance" / "properties" / "test_builtin_layers.py")
    assert cli.main(["gpu"]) == gpu_command.NO_BUILTIN_MODULE == 4
    out, err = capsys.readouterr()
    assert gpu_seen == [] and out == ""
    assert err.count("\n") == 1 and err.startswith("rnn-conformance: error: a GPU is visible (tensorflow: 1 GPU")
    assert "conformance/properties/test_builtin_layers.py is missing" in err


def test_bad_input_is_refused_before_any_probe(monkeypatch, tmp_path, capsys):
    given = fake_probes(monkeypatch, {})
    (tmp_path / "file").write_text("")
    assert cli.main(["gpu", "--repro-dir", str(tmp_path / "file")]) == 2
    assert given == [] and capsys.readouterr().err.startswith("rnn-conformance: error: --repro-dir ")


@pytest.mark.e2e
def test_a_probe_of_a_framework_that_is_not_installed_answers_not_installed(monkeypatch):
    monkeypatch.setitem(gpu_command._PROBES, "no_such_framework_here", "import no_such_framework_here\nprint(1)")
    assert gpu_command.ask("no_such_framework_here") == "not installed"


@pytest.mark.e2e
def test_on_this_machine_without_a_gpu_the_command_prints_one_line_and_exits_0(tmp_path):
    """The real probes, the GPUs hidden (CUDA_VISIBLE_DEVICES=""), so that the test says the
    same on a machine with one."""
    environment = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    environment.update(PYTHONPATH=str(REPOSITORY), CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-m", "conformance", "gpu"], capture_output=True, text=True, cwd=tmp_path,
                          env=environment, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    ending = "): the GPU rows are skipped"
    assert line.startswith(SKIPPED) and line.endswith(ending)
    parts = line[len(SKIPPED):-len(ending)].split(", ")
    assert [p.split(": ")[0] for p in parts] == ["tensorflow", "torch", "jax"], line
    assert all(p.split(": ", 1)[1] in ("none", "not installed") for p in parts), line  # not "probe failed (...)"
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written
