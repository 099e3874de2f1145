"""`rnn-conformance gpu`: the built-in rows on a GPU, against the CPU reference (issue 41).

On a GPU a built-in layer leaves the generic loop: Keras hands an LSTM or GRU to cuDNN
(TensorFlow, torch, JAX) when its configuration allows, and cuDNN takes masks,
go_backwards and gradients its own way. The CI gate has no GPU, so this command is the
one place those paths meet the reference: run it on a machine with one (docs/gpu.md).

It asks each framework, in a subprocess of its own (an import that hangs, crashes or
grabs the GPU must not take the command with it), whether it sees a GPU; a framework
that is not installed is said so, never counted as "no GPU". With none it prints one
line and exits 0 (a CPU machine, the CI gate's, skips). Otherwise it runs `run`'s own
machinery (run_command.main: its input checks, its workers, its report) on the built-in
rows whose framework sees a GPU, under the `gpu` profile (conformance/base/profiles.py:
the arithmetic that keeps three rows under 10 minutes), with GPU_VARIABLE set so that the
built-in strategies draw the configurations cuDNN takes more often.

Exit status: 0 no GPU visible (skipped), or every selected row ran and conforms; the
run's own status otherwise (run_command: 1 a divergence or an error, 2 bad input, 3 a row
not installed, 6 incomplete); PROBE_FAILED (1) where a framework's probe crashed or timed
out and the run would otherwise pass (the skip included: it is no proof of a machine
without a GPU); NO_BUILTIN_MODULE (4) a GPU is visible but this suite has no built-in
property module to run (one line on stderr).
"""

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import conformance
from conformance.base.usage import UsageError, usage_error
from conformance.command import run_command
from conformance.known import ledger as known
from conformance.results.report import INCOMPLETE_EXIT_STATUS

# Set to "1" for the run (its only setter): the built-in layers' strategies read it and draw
# tanh and sigmoid activations, use_bias and no unroll more often, the configurations cuDNN takes.
GPU_VARIABLE = "RNN_CONFORMANCE_GPU"
# The workers share one GPU: TensorFlow maps nearly all its memory at start and JAX 75%,
# so the second worker would fail to allocate (an error row, not a finding). Set unless
# the user set them.
SHARED_GPU_VARIABLES = {"TF_FORCE_GPU_ALLOW_GROWTH": "true", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
GPU_PROFILE = "gpu"
# The built-in row each framework's GPU serves (the other built-in rows have no cuDNN path).
ROWS = {"tensorflow": "builtin-keras-tensorflow", "torch": "builtin-keras-torch", "jax": "builtin-keras-jax"}
BUILTIN_MODULE = Path(conformance.__file__).parent / "properties" / "test_builtin_layers.py"
NO_BUILTIN_MODULE = 4  # distinct from bad input (2) and a row not installed (3)
# A probe that crashed or hung proves nothing about its framework's GPU: never a silent 0.
PROBE_FAILED = 1
PROBE_TIMEOUT_S = 120  # importing TensorFlow takes seconds; a driver that hangs does not end
NOT_INSTALLED = "not installed"

# Each probe prints its framework's count of GPUs on its last line, or NOT_INSTALLED.
_PROBES = {
    "tensorflow": "import tensorflow as tf\nprint(len(tf.config.list_physical_devices('GPU')))",
    "torch": "import torch\nprint(torch.cuda.device_count() if torch.cuda.is_available() and "
             "torch.backends.cudnn.is_available() else 0)",
    "jax": "import jax\nprint(sum(d.platform in ('gpu', 'cuda') for d in jax.devices()))",
}
_PROBE = "import importlib.util, sys\nif importlib.util.find_spec({name!r}) is None:\n" \
         "    print({missing!r})\n    sys.exit(0)\n{probe}\n"


def probe_command(framework):
    """The command that asks `framework` (a key of ROWS) for its GPUs."""
    return [sys.executable, "-c", _PROBE.format(name=framework, missing=NOT_INSTALLED, probe=_PROBES[framework])]


def ask(framework):
    """What `framework` answers: its number of GPUs (0: none), NOT_INSTALLED, or why the
    probe failed (a sentence)."""
    env = {**os.environ, **SHARED_GPU_VARIABLES}  # the probe must not hold the GPU's memory
    try:
        done = subprocess.run(probe_command(framework), capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return f"probe timed out after {PROBE_TIMEOUT_S} s"
    return reading(done.returncode, done.stdout, done.stderr)


def reading(returncode, stdout, stderr):
    """A probe's answer from its exit status and output (see `ask`)."""
    lines = stdout.strip().splitlines()
    last = lines[-1].strip() if lines else ""
    if returncode == 0 and last == NOT_INSTALLED:
        return NOT_INSTALLED
    if returncode == 0 and last.isdigit():
        return int(last)
    errors = stderr.strip().splitlines()
    return f"probe failed (exit {returncode}: {errors[-1].strip()[:80] if errors else 'no output'})"


def detect():
    """{framework: its answer}, the three asked at once (each import takes seconds)."""
    with ThreadPoolExecutor(len(ROWS)) as pool:
        return dict(zip(ROWS, pool.map(ask, ROWS)))


def selected_rows(answers):
    """The built-in rows whose framework sees at least one GPU, in ROWS' order."""
    return [ROWS[f] for f in ROWS if isinstance(answers.get(f), int) and answers[f] > 0]


def said(answers):
    """'tensorflow: 1 GPU, torch: none, jax: not installed'."""
    def one(answer):
        if isinstance(answer, int):
            return "none" if answer == 0 else f"{answer} GPU" + ("s" if answer > 1 else "")
        return answer
    return ", ".join(f"{framework}: {one(answer)}" for framework, answer in answers.items())


def run_arguments(args, rows):
    """`run`'s arguments for these rows: the gpu command's own options, the rest as `run`
    has them by default (no --impl, no seed: the profile is derandomized)."""
    return argparse.Namespace(**{**vars(args), "command": "run", "backends": ",".join(rows), "impl": None,
                                 "impl_ops": "numpy", "seed": None, "fail_fast": False, "profile": GPU_PROFILE})


@contextmanager
def gpu_environment():
    """GPU_VARIABLE and SHARED_GPU_VARIABLES set in this process for the run (its workers,
    and theirs, inherit them); the environment as it was afterwards."""
    saved = {name: os.environ.get(name) for name in (*SHARED_GPU_VARIABLES, GPU_VARIABLE)}
    for name, value in SHARED_GPU_VARIABLES.items():
        os.environ.setdefault(name, value)
    os.environ[GPU_VARIABLE] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(args):
    """Check the input (on every machine alike: a bad path fails on CPU too), detect, then
    skip in one line or run the rows; returns the exit status."""
    try:
        run_command.check_inputs(run_arguments(args, []))
    except (UsageError, known.KnownDivergenceError) as error:
        return usage_error(error)
    answers = detect()
    rows, unasked = selected_rows(answers), [f for f, a in answers.items() if not isinstance(a, int) and a != NOT_INSTALLED]
    if not rows:
        failed = f"; the probe of {', '.join(unasked)} failed: exit status {PROBE_FAILED}" if unasked else ""
        print(f"rnn-conformance gpu: no GPU visible ({said(answers)}): the GPU rows are skipped{failed}", flush=True)
        return PROBE_FAILED if unasked else 0
    if not BUILTIN_MODULE.is_file():
        usage_error(f"a GPU is visible ({said(answers)}) but this suite has no built-in rows to run on it "
                    f"({BUILTIN_MODULE.relative_to(BUILTIN_MODULE.parents[2])} is missing)")
        return NO_BUILTIN_MODULE
    print(f"rnn-conformance gpu: {said(answers)}: running {', '.join(rows)} under the {GPU_PROFILE} profile, "
          f"{GPU_VARIABLE}=1", flush=True)
    with gpu_environment():
        status = run_command.main(run_arguments(args, rows))
    if unasked and status in (0, INCOMPLETE_EXIT_STATUS):
        print(f"rnn-conformance gpu: the probe of {', '.join(unasked)} failed (see the first line): exit status {PROBE_FAILED}")
        return PROBE_FAILED
    return status
