"""The worker processes of `rnn-conformance run`: pytest processes, one backend each.

A backend runs in one pytest process, or, in a long run (`split`, see run_command), in one
process per property module, one after another in the backend's slot of --jobs: a process
keeps every XLA executable it compiled (TensorFlow's compilation cache never evicts,
tensorflow#64170), so only ending processes bounds a `thorough` run's memory. A
collect-only pass (no backend imported) names the modules and the backend's test total;
the processes share the log, the progress count, --backend-timeout and one merged report.

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

from pathlib import Path

from conformance.base.environments import PARENT_VARIABLE
from conformance.command.row_costs import start_order_key
from conformance.results.results import INCOMPLETE_EXIT_STATUS, RAN, exit_status, status_of  # RAN: outcomes of a property that ran

WORKER_CONFIG = Path(__file__).with_name("worker_pytest.ini")
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
    """Backends in the order to start them, longest first (conformance/command/row_costs.py:
    the measured cost of each default row, then the most compiled modes), so that with
    --jobs > 1 no long worker starts last and runs alone. Ties keep the given order."""
    return sorted(backends, key=start_order_key)


def safe_name(name):
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


class Progress:
    """What one process's --progress file says so far (conformance/harness/progress.py writes it)."""

    def __init__(self, path):
        self.total = self.done = self.last = self.started = None
        if path is None or not path.exists():
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

    @classmethod
    def of_parts(cls, paths, total=None):
        """The backend's progress over its processes so far: tests done, examples and
        failures added up, out of the `total` collected (every process counts from 0)."""
        combined, parts = cls(None), [cls(path) for path in paths]
        done = [p.last for p in parts if p.last is not None]
        combined.total = total if total is not None else (parts[-1].total if parts else None)
        if done:
            combined.last = {key: sum(last[key] for last in done) for key in ("done", "examples", "failures")}
        combined.started = parts[-1].started if parts else None
        return combined


class Part:
    """One pytest process of a worker: which property modules it runs, its files."""

    def __init__(self, modules, stem, label=None):
        self.modules, self.label = modules, label  # label: None when the part is the whole suite
        self.report_path, self.progress_path = Path(f"{stem}.json"), Path(f"{stem}.progress")
        self.process = None

    def report(self):
        if not self.report_path.exists():
            return None
        try:
            return json.loads(self.report_path.read_text())
        except ValueError:  # cut off while being written
            return None


def property_modules(collected):
    """The property modules of `pytest --collect-only -q` output, in order, with their test
    counts: {"conformance.properties.test_masking": 9, ...}."""
    modules = {}
    for line in collected.splitlines():
        path, sep, _ = line.strip().partition("::")
        if sep and path.endswith(".py"):
            name = f"conformance.properties.{Path(path).stem}"
            modules[name] = modules.get(name, 0) + 1
    return modules


class Worker:
    """One backend tested by pytest processes of its own: one, or with `split` one per
    property module, run one after another in the backend's slot of --jobs (see
    `split_run`). The processes share one log, one progress count, one timeout and
    one merged report."""

    def __init__(self, backend, pytest_options, scratch, repro_dir, split=False, environment=None, label=None):
        self.backend, self.pytest_options = backend, list(pytest_options)
        self.environment = environment  # an environments.Environment, or None: this interpreter's
        self.label = label or backend.name  # the row's name: keras-jax, or keras-jax@3.0.0 (another release)
        self.safe = safe_name(self.label)
        self.scratch, self.split = scratch, split
        self.fail_fast = "-x" in self.pytest_options
        self.log_path = repro_dir / f"{self.safe}.log"
        self.collected_path = scratch / f"{self.safe}.collected"
        self.parts = None if split else [Part(["conformance"], scratch / self.safe)]
        self.total = None  # the tests collected for the whole backend (split runs)
        self.current = None  # the part running now (None while collecting)
        self.process = self.log = None
        self.started = self.finished = None
        self.stopped = None  # why the command ended it (a timeout, an interrupted run)
        self._last_line, self._printed = None, 0.0

    @property
    def report_path(self):
        return self.parts[0].report_path  # (one part: the whole suite)

    @property
    def progress_path(self):
        return self.parts[0].progress_path

    def _base_command(self):
        # --noconftest: a conftest.py of the directory the command runs in (or its tests/) is
        # not the suite's; pytest loads them when no argument is a path (`--pyargs
        # conformance.properties.test_masking`), and one that imports the properties fixes their
        # Hypothesis settings before --max-examples is applied.
        # -c: the suite's own pytest configuration, not the one of the directory the command
        # runs in (conformance/worker_pytest.ini), with that directory as the rootdir.
        python = str(self.environment.python) if self.environment else sys.executable
        command = [python, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "--noconftest", "-q",
                   "-c", str(WORKER_CONFIG), "--rootdir", os.getcwd()]
        command += self.pytest_options
        if getattr(self.backend, "impl_target", None):
            return command + ["--impl", self.backend.impl_target, "--impl-ops", self.backend.ops]
        return command + ["--backends", self.backend.name]

    def command(self, part=None):
        part = part or self.parts[0]
        return self._base_command() + ["--report", str(part.report_path), "--progress", str(part.progress_path),
                                       "--pyargs", *part.modules]

    def start(self):
        self.started = time.monotonic()
        self.log = open(self.log_path, "w")
        if self.split:  # first the test ids (no backend is imported to collect them)
            with open(self.collected_path, "w") as out:
                self._popen(self._base_command() + ["--collect-only", "--pyargs", "conformance"], out)
        else:
            self._start_part(self.parts[0])
        where = f" in the {self.environment.spec.name} environment" if self.environment else ""
        print(f"[{self.label}] started (pid {self.process.pid}){where}", flush=True)

    def _popen(self, command, stdout):
        self.log.flush()
        env = {**(self.environment.worker_env() if self.environment else os.environ), PARENT_VARIABLE: str(os.getpid())}
        self.process = subprocess.Popen(command, stdout=stdout, stderr=self.log, start_new_session=True, env=env)

    def _start_part(self, part):
        self.current = part
        if part.label:
            self.log.write(f"== rnn-conformance: {part.label} ==\n")
        self._popen(self.command(part), self.log)
        part.process = self.process
        if part.label and part is not self.parts[0]:
            print(f"[{self.label}] {part.label} (pid {self.process.pid})", flush=True)

    def _plan_parts(self):
        """After the collection: one part per property module; the whole suite in one
        process if the collection failed (that process then says why)."""
        modules = property_modules(self.collected_path.read_text(errors="replace"))
        if self.process.returncode != 0 or not modules:
            return [Part(["conformance"], self.scratch / self.safe)]
        self.total = sum(modules.values())
        return [Part([name], self.scratch / f"{self.safe}.{k}", f"process {k + 1}/{len(modules)}: {name}")
                for k, name in enumerate(modules)]

    def _next_part(self):
        """The part to start after the one that ended, or None: the last one ran, one ended
        without a usable report, or one failed under --fail-fast (pytest -x)."""
        if self.current is None:
            self.parts = self._plan_parts()
            return self.parts[0]
        code = self.current.process.returncode
        if code not in (0, 1, INCOMPLETE_EXIT_STATUS) or self.current.report() is None or (self.fail_fast and code == 1):
            return None
        later = self.parts.index(self.current) + 1
        return self.parts[later] if later < len(self.parts) else None

    def progress(self):
        ran = [p for p in self.parts or [] if p.process is not None]
        return Progress.of_parts([p.progress_path for p in ran], self.total)

    def running(self):
        return self.process is not None and self.finished is None

    def poll(self, backend_timeout=None):
        """True once finished (or killed after backend_timeout s); prints progress now and then."""
        done = self.process.poll() is not None
        if done:
            self._end_group()
            following = self._next_part()
            if following is not None:
                self._start_part(following)
                done = False
        progress = self.progress()
        line = progress.line()
        if not done and backend_timeout and time.monotonic() - self.started > backend_timeout:
            self.stop(f"no result after {backend_timeout:g} s (--backend-timeout): killed{progress.where()}")
            done = True
        elif not done and line and line != self._last_line and time.monotonic() - self._printed > PROGRESS_EVERY_S:
            self._printed, self._last_line = time.monotonic(), line
            print(f"[{self.label}] {line}", flush=True)
        if done:
            self._end_group()
            self._close()
            print(f"[{self.label}] finished in {self.finished - self.started:.0f} s: {line or ''}; {self.verdict()}", flush=True)
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
        """The backend's report: those of its processes merged (None until one ran)."""
        reports = [p.report() for p in self.parts or [] if p.process is not None]
        reports = [r for r in reports if r is not None]
        return merge_parts(reports) if reports else None

    def outcome(self):
        """(the worker's report, None) when properties of its backend ran, else (None, why not)."""
        if self.process is None:
            return None, "not started: the run was interrupted first"
        if self.stopped:
            return None, self.stopped
        if self.parts is None:  # the collection itself was killed
            return None, f"the worker's collection exited with status {self.process.returncode} ({self.log_path}){self._log_tail()}"
        for part in (p for p in self.parts if p.process is not None):
            who = f"the worker's {part.label}" if part.label else "the worker"
            where = Progress(part.progress_path).where()
            code = part.process.returncode
            if code not in (0, 1, INCOMPLETE_EXIT_STATUS):
                what = PYTEST_EXIT.get(code) or (f"was killed by signal {-code}" if code < 0 else f"exited with status {code}")
                return None, f"{who} {what}{where} ({self.log_path}){self._log_tail()}"
            if part.report() is None:
                return None, f"{who} exited with status {code} without a report{where} ({self.log_path}){self._log_tail()}"
        finished = self.report()
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


def merge_parts(reports):
    """The reports of one backend's processes as one: each backend entry's results in the
    order the processes ran (each process ran other tests, so each result appears once),
    its speed added up per mode (every process counts from zero; a declared divergence's
    excused examples are per result and add up in results.matched_known), its status
    recomputed from all of them."""
    merged, entries = dict(reports[0]), {}
    for part in reports:
        for b in part["backends"]:
            entry = entries.setdefault(b["name"], {**b, "results": [], "speed": {}, "reason": None})
            entry["results"] += b["results"]
            entry["reason"] = entry["reason"] or b.get("reason")
            entry["version"] = entry.get("version") or b.get("version")
            for mode, cost in (b.get("speed") or {}).items():
                total = entry["speed"].setdefault(mode, {})
                for key, value in cost.items():
                    total[key] = _added(total.get(key), value)
    for b in entries.values():
        b["status"] = status_of(b["results"], any(p["status"] == "not-installed" for r in reports
                                                  for p in r["backends"] if p["name"] == b["name"]))
    merged["backends"] = list(entries.values())
    merged["interrupted"] = any(r.get("interrupted") for r in reports)
    merged["exit_status"] = exit_status(merged)
    return merged


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


def _added(total, value):
    """One speed figure of a part added to the total: a flag or-ed, counts summed, a dict
    of counts (a built-in row's paths, issue 41) summed key by key."""
    if isinstance(value, bool):
        return bool(total) or value
    if isinstance(value, dict):
        return {key: (total or {}).get(key, 0) + value.get(key, 0) for key in {**(total or {}), **value}}
    return (total or 0) + value
