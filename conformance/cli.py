"""`rnn-conformance`: does my loop conform, and if not, where exactly?

    rnn-conformance [run] [--backends a,b] [--impl MODULE:FUNC [--impl-ops OPS]]
                    [--profile ci|dev|thorough] [--max-examples N] [--seed N] [--jobs N]
                    [--report PATH.json] [--markdown PATH.md] [--repro-dir DIR]
                    [--ignore-known] [--example-timeout S]
    rnn-conformance list
    rnn-conformance mutants [--mutants a,b] [--profile P] [--max-examples N] [--report PATH.json]
                            [--markdown PATH.md]

`run` tests each backend in a pytest process of its own (a crash or hang of one backend
cannot take the run down; the layer rows start their own Keras workers), up to `--jobs`
at once (default: one per CPU), printing progress per backend; then it prints the divergence matrix and each
new divergence, writes the reports and exits 0 (everything tested conforms, declared
divergences reproduced as declared), 1 (a new divergence, crash, hang, fixed declared
divergence, or a worker that failed), 2 (usage error), 3 (a backend you named, or every
default backend, is not installed: nothing or not everything could be tested).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance import report
from conformance.backends import BACKENDS, UNSUPPORTED, UnknownBackend, default_backends, get_backend, register_impl
from conformance.backends.impl import IMPL_OPS, ImplError
from conformance.plugin import not_installed_message

PROFILES = ("ci", "dev", "thorough")
PROGRESS_EVERY_S = 10


class UsageError(ValueError):
    """Reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, not argparse's usage block (exit status 2)."""
        print(f"rnn-conformance: error: {message} (see rnn-conformance --help)", file=sys.stderr)
        raise SystemExit(2)


def parse_arguments(argv):
    parser = _Parser(prog="rnn-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=("run", "list", "mutants"))
    parser.add_argument("--backends", help="comma-separated backend names (default: every installed default backend)")
    parser.add_argument("--impl", metavar="MODULE:FUNC", help="also test this function with the rnn signature")
    parser.add_argument("--impl-ops", default="numpy", choices=IMPL_OPS, help="the array library of --impl's step functions")
    parser.add_argument("--profile", choices=PROFILES, default="ci", help="Hypothesis profile (default: ci)")
    parser.add_argument("--max-examples", type=_positive, help="examples per property and target (overrides the profile)")
    parser.add_argument("--seed", type=int, help="Hypothesis seed (ci is derandomized already)")
    parser.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1,
                        help="backends tested at once (default: the number of CPUs)")
    parser.add_argument("--report", metavar="PATH.json", help="write the versioned JSON report")
    parser.add_argument("--markdown", metavar="PATH.md", help="write the divergence matrix as Markdown")
    parser.add_argument("--repro-dir", default="rnn-conformance-repros", help="where cases, reproducers and logs go")
    parser.add_argument("--ignore-known", action="store_true", help="excuse no declared divergence")
    parser.add_argument("--mutants", metavar="a,b", help="mutants: only these (default: the whole catalog)")
    parser.add_argument("--example-timeout", type=_positive, default=120, help="seconds before one example counts as a hang")
    return parser.parse_args(argv)


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv=None):
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # argparse printed a one-line usage error (or --help)
        return 0 if exit_.code == 0 else 2
    if args.command == "mutants":
        return run_mutants(args)
    if args.mutants is not None:
        print("rnn-conformance: error: --mutants applies to the mutants command only", file=sys.stderr)
        return 2
    try:
        backends = selected_backends(args)
    except (UsageError, UnknownBackend, ImplError) as error:
        print(f"rnn-conformance: error: {error}", file=sys.stderr)
        return 2
    if args.command == "list":
        return list_backends()
    return run(args, backends)


def run_mutants(args):
    from conformance import mutants_command

    misplaced = [o for o, v in (("--backends", args.backends), ("--impl", args.impl)) if v]
    if misplaced:
        print(f"rnn-conformance: error: {', '.join(misplaced)} does not apply to mutants", file=sys.stderr)
        return 2
    try:
        mutants_command.selected_mutants(args.mutants)
    except mutants_command.UnknownMutant as error:
        print(f"rnn-conformance: error: {error}", file=sys.stderr)
        return 2
    return mutants_command.main(args)


def selected_backends(args):
    impl = register_impl(args.impl, args.impl_ops) if args.impl else None
    if args.backends is None:
        chosen = [impl] if impl else default_backends()
    else:
        names = [n.strip() for n in args.backends.split(",") if n.strip()]
        if not names:
            raise UsageError("--backends needs at least one backend name")
        chosen = [get_backend(name) for name in names] + ([impl] if impl else [])
    return chosen


def list_backends():
    for backend in BACKENDS.values():
        missing = backend.missing_package()
        state = f"installed ({backend.version()})" if missing is None else not_installed_message(backend)
        default = "" if backend.run_by_default else "; not in the default run"
        print(f"{backend.name}: {state}; {backend.level} level; modes: {', '.join(backend.modes)}{default}")
    for name, why in UNSUPPORTED.items():
        print(f"{name}: unsupported: {why}")
    return 0


def run(args, backends):
    repro_dir = Path(args.repro_dir)
    repro_dir.mkdir(parents=True, exist_ok=True)
    installed = [b for b in backends if b.missing_package() is None]
    missing = [b for b in backends if b.missing_package() is not None]
    for backend in missing:
        print(f"{backend.name}: {not_installed_message(backend)}", flush=True)
    reports, errors = [], {}
    with tempfile.TemporaryDirectory(prefix="rnn-conformance-") as scratch:
        workers = [Worker(b, args, Path(scratch), repro_dir) for b in installed]  # reports in the order asked
        by_backend = {w.backend.name: w for w in workers}
        _run_workers([by_backend[b.name] for b in longest_first(installed)], args.jobs)
        for worker in workers:
            finished = worker.report()
            if finished is None:
                errors[worker.backend.name] = worker.failure()
            else:
                reports.append(finished)
    run_report = report.merge_reports(reports, args.profile)
    run_report["backends"] += [_entry_without_report(b, errors.get(b.name)) for b in missing + [w.backend for w in workers if w.backend.name in errors]]
    run_report["exit_status"] = report.exit_status(run_report)
    if missing and args.backends is not None and run_report["exit_status"] == 0:
        run_report["exit_status"] = 3  # a backend you named could not be tested
    print()
    print(report.matrix_text(run_report))
    details = report.divergences_text(run_report)
    if details:
        print("\nNew divergences:\n" + details)
    if args.report:
        report.write_json(run_report, args.report)
    if args.markdown:
        Path(args.markdown).write_text(report.matrix_markdown(run_report))
    return run_report["exit_status"]


def longest_first(backends):
    """Backends in the order to start them: those with the most compiled modes first (each
    compiled mode traces per structure; they take longest), so that with --jobs > 1 no
    long worker starts last and runs alone. Ties keep the given order."""
    return sorted(backends, key=lambda b: (-len(b.compiled_modes), -len(b.modes)))


def _entry_without_report(backend, error):
    return {
        "name": backend.name,
        "level": backend.level,
        "version": None,
        "modes": list(backend.modes),
        "status": "error" if error else "not-installed",
        "reason": error or not_installed_message(backend),
        "results": [],
    }


class Worker:
    """One backend tested by a pytest process of its own."""

    def __init__(self, backend, args, scratch, repro_dir):
        self.backend, self.args = backend, args
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in backend.name)
        self.report_path = scratch / f"{safe}.json"
        self.progress_path = scratch / f"{safe}.progress"
        self.log_path = repro_dir / f"{safe}.log"
        self.repro_dir = repro_dir
        self.process = None
        self.started = self.finished = None
        self._last_line = None

    def command(self):
        a = self.args
        command = [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "conformance.plugin"]
        command += ["-p", "no:cacheprovider", "-q", "--hypothesis-profile", a.profile]
        command += ["--backends", self.backend.name, "--report", str(self.report_path)]
        command += ["--progress", str(self.progress_path), "--repro-dir", str(self.repro_dir)]
        command += ["--example-timeout", str(a.example_timeout)]
        if a.max_examples:
            command += ["--max-examples", str(a.max_examples)]
        if a.seed is not None:
            command += ["--hypothesis-seed", str(a.seed)]
        if a.ignore_known:
            command.append("--ignore-known")
        if getattr(self.backend, "impl_target", None):
            command = [c for c in command if c not in ("--backends", self.backend.name)]
            command += ["--impl", self.backend.impl_target, "--impl-ops", self.backend.ops]
        return command

    def start(self):
        self.started = time.monotonic()
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        print(f"[{self.backend.name}] started", flush=True)

    def poll(self):
        """True once finished; prints a progress line now and then."""
        done = self.process.poll() is not None
        line = self.progress_line()
        if line and (done or line != self._last_line) and (done or time.monotonic() - getattr(self, "_printed", 0) > PROGRESS_EVERY_S):
            self._printed = time.monotonic()
            self._last_line = line
            if not done:
                print(f"[{self.backend.name}] {line}", flush=True)
        if done:
            self.log.close()
            self.finished = time.monotonic()
            verdict = self.verdict()
            print(f"[{self.backend.name}] finished in {self.finished - self.started:.0f} s: {line or ''}; {verdict}", flush=True)
        return done

    def progress_line(self):
        if not self.progress_path.exists():
            return None
        total, last = None, None
        for raw in self.progress_path.read_text().splitlines():
            entry = json.loads(raw)
            if "total" in entry:
                total = entry["total"]
            else:
                last = entry
        if last is None:
            return f"0/{total} tests" if total is not None else None
        return f"{last['done']}/{total} tests, {last['examples']} examples, {last['failures']} failing"

    def verdict(self):
        finished = self.report()
        if finished is None:
            return f"ERROR (no report; exit status {self.process.returncode}, log {self.log_path})"
        return ", ".join(f"{b['name']}: {b['status']}" for b in finished["backends"])

    def report(self):
        if not self.report_path.exists():
            return None
        return json.loads(self.report_path.read_text())

    def failure(self):
        tail = self.log_path.read_text().strip().splitlines()[-3:] if self.log_path.exists() else []
        return f"the worker exited with status {self.process.returncode} without a report ({self.log_path}): " + " | ".join(tail)


def _run_workers(workers, jobs):
    waiting, running = list(workers), []
    while waiting or running:
        while waiting and len(running) < jobs:
            worker = waiting.pop(0)
            worker.start()
            running.append(worker)
        time.sleep(1)
        running = [w for w in running if not w.poll()]


if __name__ == "__main__":
    sys.exit(main())
