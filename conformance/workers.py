"""The worker processes of `rnn-conformance run`: one pytest process per backend.

A backend that crashes, hangs or exits takes only its own worker down. Each worker runs
in a process group of its own (`start_new_session`), so that the command can end it with
everything it started (the layer rows' Keras workers) and so that a Ctrl-C in the
terminal reaches the command only: the command decides what to end and when. Every way
out of `run_workers` (normal end, an exception, Ctrl-C, SIGTERM turned into `Terminated`
by the caller) ends every group it started.

A worker counts only when it leaves a report in which properties of its backend actually
ran; anything else (no report, a pytest exit status other than 0 or 1, a report whose
properties all were skipped) is an error with the reason, never a pass and never "not
installed" (the command checked installation before starting it).
"""

import json
import os
import signal
import subprocess
import sys
import time

from conformance.results import RAN  # outcomes of a property that ran

PROGRESS_EVERY_S = 10
POLL_S = 0.5
STOP_GRACE_S = 2  # seconds a stopped worker gets between SIGTERM and SIGKILL
PYTEST_EXIT = {2: "was interrupted (pytest exit status 2: a KeyboardInterrupt in the backend?)",
               3: "hit an internal error (pytest exit status 3)",
               4: "was given a bad option (pytest exit status 4)",
               5: "collected no test (pytest exit status 5)"}


class Terminated(BaseException):
    """The command got SIGTERM (raised by its signal handler, like KeyboardInterrupt)."""


def longest_first(backends):
    """Backends in the order to start them: those with the most compiled modes first (each
    compiled mode traces per structure; they take longest), so that with --jobs > 1 no
    long worker starts last and runs alone. Ties keep the given order."""
    return sorted(backends, key=lambda b: (-len(b.compiled_modes), -len(b.modes)))


def safe_name(name):
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


class Progress:
    """What a worker's --progress file says so far (conformance/progress.py writes it)."""

    def __init__(self, path):
        self.total = self.done = self.last = self.started = None
        if not path.exists():
            return
        for raw in path.read_text().splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:  # a line being written right now
                continue
            if "total" in entry:
                self.total = entry["total"]
            elif "started" in entry:
                self.started = entry["started"]
            else:
                self.last = entry

    def line(self):
        if self.last is None:
            return f"0/{self.total} tests" if self.total is not None else None
        last = self.last
        return f"{last['done']}/{self.total} tests, {last['examples']} examples, {last['failures']} failing"

    def where(self):
        """', last test: NODEID' (the test that started last), or ''."""
        return f", last test: {self.started}" if self.started else ""


class Worker:
    """One backend tested by a pytest process of its own."""

    def __init__(self, backend, pytest_options, scratch, repro_dir):
        self.backend, self.pytest_options = backend, list(pytest_options)
        safe = safe_name(backend.name)
        self.report_path = scratch / f"{safe}.json"
        self.progress_path = scratch / f"{safe}.progress"
        self.log_path = repro_dir / f"{safe}.log"
        self.process = self.log = None
        self.started = self.finished = None
        self.stopped = None  # why the command ended it (a timeout, an interrupted run)
        self._last_line, self._printed = None, 0.0

    def command(self):
        command = [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "conformance.plugin"]
        command += ["-p", "no:cacheprovider", "-q", *self.pytest_options]
        command += ["--report", str(self.report_path), "--progress", str(self.progress_path)]
        if getattr(self.backend, "impl_target", None):
            return command + ["--impl", self.backend.impl_target, "--impl-ops", self.backend.ops]
        return command + ["--backends", self.backend.name]

    def start(self):
        self.started = time.monotonic()
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        print(f"[{self.backend.name}] started (pid {self.process.pid})", flush=True)

    def running(self):
        return self.process is not None and self.finished is None

    def poll(self, backend_timeout=None):
        """True once finished (or killed after backend_timeout s); prints progress now and then."""
        done = self.process.poll() is not None
        progress = Progress(self.progress_path)
        line = progress.line()
        if not done and backend_timeout and time.monotonic() - self.started > backend_timeout:
            self.stop(f"no result after {backend_timeout:g} s (--backend-timeout): killed{progress.where()}")
            done = True
        elif not done and line and line != self._last_line and time.monotonic() - self._printed > PROGRESS_EVERY_S:
            self._printed, self._last_line = time.monotonic(), line
            print(f"[{self.backend.name}] {line}", flush=True)
        if done:
            self._end_group()
            self._close()
            print(f"[{self.backend.name}] finished in {self.finished - self.started:.0f} s: {line or ''}; {self.verdict()}", flush=True)
        return done

    def stop(self, why):
        """End the worker's whole process group: SIGTERM, then SIGKILL after a grace period."""
        self.terminate(why)
        self.end()

    def terminate(self, why):
        """Ask the worker's whole process group to end (SIGTERM); `end` makes sure."""
        if self.running():
            self.stopped = why
            self._signal_group(signal.SIGTERM)

    def end(self, grace_until=None):
        """Wait for a terminated worker until `grace_until` (default: STOP_GRACE_S from now), then SIGKILL its group."""
        if not self.running():
            return
        try:
            self.process.wait(max(0.0, (grace_until or time.monotonic() + STOP_GRACE_S) - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        self._end_group()
        self._close()

    def _end_group(self):
        self._signal_group(signal.SIGKILL)  # whatever the worker left behind (its own subprocesses)
        self.process.wait()

    def _signal_group(self, number):
        try:
            os.killpg(self.process.pid, number)  # the group id is the worker's pid (new session)
        except (ProcessLookupError, PermissionError):
            pass

    def _close(self):
        if self.finished is None:
            self.finished = time.monotonic()
        if self.log is not None:
            self.log.close()

    def report(self):
        if not self.report_path.exists():
            return None
        try:
            return json.loads(self.report_path.read_text())
        except ValueError:  # cut off while being written
            return None

    def outcome(self):
        """(the worker's report, None) when properties of its backend ran, else (None, why not)."""
        if self.process is None:
            return None, "not started: the run was interrupted first"
        if self.stopped:
            return None, self.stopped
        where = Progress(self.progress_path).where()
        code = self.process.returncode
        finished = self.report()
        if code not in (0, 1):
            what = PYTEST_EXIT.get(code) or (f"was killed by signal {-code}" if code < 0 else f"exited with status {code}")
            return None, f"the worker {what}{where} ({self.log_path}){self._log_tail()}"
        if finished is None:
            return None, f"the worker exited with status {code} without a report{where} ({self.log_path}){self._log_tail()}"
        own = [b for b in finished["backends"] if b["name"] == self.backend.name]
        if not any(r["outcome"] in RAN for b in own for r in b["results"]):
            said = f"; its report says {own[0]['status']}: {own[0]['reason']}" if own else ""
            return None, f"no property ran{said} ({self.log_path})"
        return finished, None

    def verdict(self):
        finished, error = self.outcome()
        if error:
            return f"ERROR: {error}"
        return ", ".join(f"{b['name']}: {b['status']}" for b in finished["backends"])

    def _log_tail(self):
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:] if self.log_path.exists() else []
        return ": " + " | ".join(tail) if tail else ""


def run_workers(workers, jobs, backend_timeout=None):
    """Run the workers, `jobs` at once, in the order given. However this ends (normally,
    by an exception, KeyboardInterrupt or Terminated), no worker is left running."""
    workers = list(workers)
    waiting, running = list(workers), []
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                worker = waiting.pop(0)
                worker.start()
                running.append(worker)
            time.sleep(POLL_S)
            running = [w for w in running if not w.poll(backend_timeout)]
    finally:
        started = [w for w in workers if w.running()]
        for worker in started:  # all asked at once, then each given the rest of one grace period
            worker.terminate("not finished: the run was interrupted")
        grace_until = time.monotonic() + STOP_GRACE_S
        for worker in started:
            worker.end(grace_until)
