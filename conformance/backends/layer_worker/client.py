"""The parent's side of a layer worker: start it with the right environment, send an
example, wait (bounded) for the reply, and turn what went wrong into exceptions that the
suite reports as crashes: an error inside Keras, a worker that died, a worker that hung."""

import atexit
import os
import pickle
import select
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
FIRST_REPLY_SECONDS = 600  # imports of TensorFlow or JAX, Theano's first compile
REPLY_SECONDS = 300  # one example: builds the layer or model, and may trace it


class WorkerCrash(Exception):
    """Keras raised inside the worker; `crash_text` is the original "Type: message"."""

    def __init__(self, crash_text, worker_traceback):
        super().__init__(f"{crash_text}\n\nIn the worker process:\n{worker_traceback}")
        self.crash_text = crash_text
        self.worker_traceback = worker_traceback


class WorkerFailure(Exception):
    """The worker died or did not answer in time (a hang is a finding, R-rules aside)."""

    def __init__(self, message):
        super().__init__(message)
        self.crash_text = f"WorkerFailure: {message}"


class Worker:
    def __init__(self, flavor, environment, reply_seconds=REPLY_SECONDS, cwd=REPOSITORY):
        self.flavor, self.environment, self.cwd = flavor, dict(environment), cwd
        self.reply_seconds = reply_seconds
        self.process = None
        self.log = None
        self.answered = False
        atexit.register(self.close)

    def request(self, *message):
        if self.process is None or self.process.poll() is not None:
            self._start()
        timeout = self.reply_seconds if self.answered else FIRST_REPLY_SECONDS
        try:
            pickle.dump(message, self.process.stdin)
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            if not ready:
                self.close()
                raise WorkerFailure(f"no reply from the {self.flavor} worker in {timeout} s (a hang)")
            reply = pickle.load(self.process.stdout)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            status = self.process.wait()
            tail = self._log_tail()
            self.process = None
            raise WorkerFailure(f"the {self.flavor} worker died (exit status {status}){tail}") from None
        except BaseException:
            # Interrupted while the worker still works on the request (--example-timeout's
            # SIGALRM, Ctrl-C): its late reply would be read as the next request's answer.
            self.close()
            raise
        self.answered = True
        if reply[0] == "error":
            raise WorkerCrash(reply[1], reply[2])
        return reply[1]

    def _start(self):
        environment = {**os.environ, **self.environment, "TF_CPP_MIN_LOG_LEVEL": "2"}
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")]))
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance.backends.layer_worker.worker", self.flavor],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=environment,
            cwd=self.cwd,
        )
        self.answered = False

    def _log_tail(self):
        if self.log is None:
            return ""
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return ("; its last output: " + " | ".join(lines[-3:])) if lines else ""

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
