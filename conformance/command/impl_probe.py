"""Is `--impl MODULE:FUNC` usable? Asked in a short subprocess, never in the command itself.

The command must not import the user's module: a module that calls `os._exit(0)` at
import would end the command with status 0 and no output (a silent pass), and nothing
can catch that. So a subprocess imports it, from the current directory as the workers
will, and writes its answer to a file; the command turns every other ending into a
one-line usage error. The command waits for the probe process itself, not for its output
to close, and then ends its whole process group: a child the module started at import
(which would hold an output pipe open until the timeout) is ended with it. A module that ends the process at import (`sys.exit`, `os._exit`,
KeyboardInterrupt) is such an error too: it cannot be tested.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile

from conformance.base.usage import UsageError, suite_package_clash

PROBE_TIMEOUT_S = 300  # importing a framework (TensorFlow) takes seconds; a hang does not end
_SCRIPT = r"""
import importlib, json, os, sys
if os.getcwd() not in sys.path and "" not in sys.path:
    sys.path.insert(0, os.getcwd())
module_name, function_name, answer_path = sys.argv[1:4]
def answer(**fields):
    with open(answer_path, "w") as out:
        out.write(json.dumps(fields))
    os._exit(0)
try:
    module = importlib.import_module(module_name)
except SystemExit as error:
    answer(exits=f"calls sys.exit({error.code!r}) at import")
except KeyboardInterrupt:
    answer(exits="raises KeyboardInterrupt at import")
except BaseException as error:
    answer(error=f"{type(error).__name__}: {error}")
answer(callable=callable(getattr(module, function_name, None)))
"""


def split_target(impl_target):
    """(module, function) of MODULE:FUNC, or a UsageError (a module named like one of the
    suite's packages too: the probe would import the suite's package and answer for it)."""
    module_name, _, function_name = impl_target.partition(":")
    if not module_name or not function_name:
        raise UsageError(f"--impl needs MODULE:FUNCTION, got {impl_target!r}")
    clash = suite_package_clash("--impl", impl_target, module_name)
    if clash:
        raise UsageError(clash)
    return module_name, function_name


def check_importable(impl_target):
    """Raise UsageError (one line) unless MODULE imports cleanly and has a function FUNC."""
    module_name, function_name = split_target(impl_target)
    where = f"--impl {impl_target}"
    status, answer = _probe(module_name, function_name)
    if status is None:
        raise UsageError(f"{where}: importing {module_name} did not finish in {PROBE_TIMEOUT_S} s") from None
    if answer is None:
        raise UsageError(f"{where}: importing {module_name} ended the process with status {status} "
                         "before the import finished (os._exit or a crash at import?): it cannot be tested")
    found = json.loads(answer)
    if "exits" in found:
        raise UsageError(f"{where}: {module_name} {found['exits']}: it cannot be tested")
    if "error" in found:
        first_line = (found["error"].strip().splitlines() or [""])[0]
        raise UsageError(f"{where}: cannot import {module_name}: {first_line}")
    if not found["callable"]:
        raise UsageError(f"{where}: {module_name} has no function {function_name!r}")


def _probe(module_name, function_name):
    """(exit status or None after the timeout, the probe's answer or None)."""
    with tempfile.TemporaryDirectory(prefix="rnn-conformance-probe-") as scratch:
        answer_path = os.path.join(scratch, "answer.json")
        process = subprocess.Popen([sys.executable, "-c", _SCRIPT, module_name, function_name, answer_path],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            status = process.wait(timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the probe, and whatever its import started
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        answer = open(answer_path).read() if os.path.exists(answer_path) else None
    return status, answer
