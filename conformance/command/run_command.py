"""`rnn-conformance run`: test backends in worker processes, print the verdict, write reports.

Everything the user gave is checked before any worker starts (backend names, `--impl` in
a subprocess, the known-divergence file, every output path), so bad input costs one line
and exit status 2, not a run followed by a traceback. Then each backend runs in a pytest
worker of its own (conformance/command/workers.py). The run ends with the divergence matrix, the
new divergences and `report.summary_text`, whose last line is the verdict.

Exit status: 0 every selected backend ran its properties and conforms (declared
divergences reproduced as declared); 1 a new divergence, crash, fixed declared
divergence, or a backend without a usable report (its worker died, exited, timed out or
ran nothing); 2 bad input; 3 a backend you named, or every default backend, is not
installed; 6 incomplete: everything tested conforms, but a property's sample left an area
of the contract without an example (conformance/harness/covering.py); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM): every worker is ended and
the reports asked for are written with what finished, marked `"interrupted": true`.
"""

import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cells.case_schema import IMPL_PREFIX
from cells.user_cell import UserCellError
from conformance.judge.vocabulary import vocabulary
from conformance.command import cell_author_notes
from conformance.base import environments
from conformance.command import impl_probe
from conformance.known import ledger as known
from conformance.base import output_paths
from conformance.base import profiles
from conformance.research import releases
from conformance.results import report
from conformance.results import results
from conformance.command import user_cell_command
from conformance.backends import UnknownBackend, default_backends, get_backend, register_impl
from conformance.backends.impl import ImplError
from conformance.backends import not_installed_message
from conformance.base.usage import UsageError, usage_error
from conformance.command.workers import Terminated, Worker, longest_first, run_workers

INTERRUPTED_EXIT_STATUS = {KeyboardInterrupt: 130, Terminated: 143}


def main(args):
    """Check the input, run the workers; returns the exit status."""
    try:
        check_inputs(args)
        backends = user_cell_command.check(args) if getattr(args, "cell", None) else selected_backends(args)
        rows = selected_rows(args, backends)
    except (UsageError, UnknownBackend, ImplError, known.KnownDivergenceError, UserCellError) as error:
        return usage_error(error)
    return run(args, rows)


def check_inputs(args):
    """Everything but the backends: output paths, the known-divergence file."""
    output_paths.check_distinct({"--report": args.report, "--markdown": args.markdown},
                                inputs={"--known-divergences": args.known_divergences, "--extra-known": getattr(args, "extra_known", None)})
    if not getattr(args, "cell", None):
        for option in ("cell_args", "input_shape", "cell_framework", "constant_shape"):
            if getattr(args, option, None) is not None:
                raise UsageError(f"--{option.replace('_', '-')} needs --cell MODULE:CLASS")
    for option in ("report", "markdown"):
        if getattr(args, option):
            output_paths.check_file(f"--{option}", getattr(args, option))
    output_paths.check_directory("--repro-dir", args.repro_dir)
    extra = getattr(args, "extra_known", None) or []
    if args.known_divergences is not None or extra:
        if args.ignore_known:
            given = "--known-divergences" if args.known_divergences is not None else "--extra-known"
            raise UsageError(f"{given} and --ignore-known contradict each other; give one")
        names = vocabulary([IMPL_PREFIX + args.impl] if getattr(args, "impl", None) else [])
        known.load_layers([args.known_divergences or known.DEFAULT_FILE, *extra], names)  # missing, malformed: KnownDivergenceError


def selected_backends(args):
    """The backends to test, in the order named, each once; `--impl` checked in a
    subprocess before it is registered (the command never imports the user's module)."""
    impl = None
    if args.impl:
        impl_probe.check_importable(args.impl)
        impl = register_impl(args.impl, args.impl_ops, load=False)  # imports nothing here
    if args.backends is None:
        return [impl] if impl else default_backends()
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if not names:
        raise UsageError("--backends needs at least one backend name")
    unique = {}
    for backend in [get_backend(name) for name in names] + ([impl] if impl else []):
        unique.setdefault(backend.name, backend)  # named twice: tested once, where first named
    return list(unique.values())


@dataclass(frozen=True)
class Row:
    """What one worker tests: a backend, under the name its report row gets, in the
    managed environment `spec` (None: this interpreter)."""

    label: str
    backend: object
    spec: object = None


def selected_rows(args, backends):
    """One row per backend; with --keras / --tf-keras, one per backend of that package
    and release instead (conformance/research/releases.py)."""
    asked = {package: releases.parse(package, getattr(args, package.replace("-", "_")))
             for package in releases.PACKAGES if getattr(args, package.replace("-", "_"), None)}
    if not asked:
        return [Row(b.name, b, b.environment if b.runs_in_environment() else None) for b in backends]
    chosen = None if args.backends is None else {b.name for b in backends}
    rows = []
    for package, versions in asked.items():
        names = [n for n in releases.PACKAGES[package]["rows"] if chosen is None or n in chosen]
        if not names:
            raise UsageError(f"{releases.PACKAGES[package]['option']}: --backends names none of its rows "
                             f"({', '.join(releases.PACKAGES[package]['rows'])})")
        for name in names:
            too_old = [r.version for r in versions if not releases.has_row(package, name, r.version)]
            if too_old and chosen is not None:
                raise UsageError(f"{name} has no row for {releases.PACKAGES[package]['distribution']} {', '.join(too_old)}: "
                                 f"the code it tests exists since {releases.PACKAGES[package]['since'][name]}")
            if too_old:
                print(f"rnn-conformance: {name} is left out for {', '.join(too_old)}: the code it tests exists since "
                      f"{releases.PACKAGES[package]['since'][name]}", file=sys.stderr)
        rows += [Row(releases.row_name(n, r), get_backend(n), r.environment())
                 for r in versions for n in names if releases.has_row(package, n, r.version)]
    return rows


def worker_options(args):
    """The pytest options every worker of this run gets (the backend is the worker's)."""
    options = ["--hypothesis-profile", args.profile, "--repro-dir", str(args.repro_dir),
               "--example-timeout", str(args.example_timeout), "--shrink-seconds", str(args.shrink_seconds)]
    if args.max_examples:
        options += ["--max-examples", str(args.max_examples)]
    if args.seed is not None:
        options += ["--hypothesis-seed", str(args.seed)]
    if args.ignore_known:
        options.append("--ignore-known")
    if args.known_divergences is not None:
        options += ["--known-divergences", str(Path(args.known_divergences).resolve())]
    for path in getattr(args, "extra_known", None) or []:
        options += ["--extra-known", str(Path(path).resolve())]
    if getattr(args, "cell", None):
        options += user_cell_command.worker_options(args)
    if args.fail_fast:
        options.append("-x")  # pytest stops at the first failing test: shrunk and reported
    options += getattr(args, "extra_worker_options", [])  # soak's (conformance/command/soak_command.py)
    return options


# Examples per property above which each backend runs one pytest process per property
# module: a process keeps every XLA executable it compiled (TensorFlow's compilation cache
# has no eviction, tensorflow#64170), so a `thorough` run in one process grew to 6 GB.
# At the ci and dev budgets one process stays near 1 GB and a process start (TensorFlow's
# import) would cost more than it frees.
SPLIT_ABOVE_EXAMPLES = 50


def split_by_module(args):
    """Whether this run's workers run one process per property module (see workers.Worker)."""
    examples = args.max_examples or profiles.PROFILE_EXAMPLES.get(args.profile, 0)
    return examples > SPLIT_ABOVE_EXAMPLES


def run(args, rows):
    """Run the workers, show the verdict, write the reports; returns the exit status."""
    run_report = execute(args, rows)
    unwritten = show_and_write(args, run_report)
    return 1 if unwritten and run_report["exit_status"] in (0, report.INCOMPLETE_EXIT_STATUS) else run_report["exit_status"]


def execute(args, rows):
    """Run the workers: the merged report (interrupted ones marked so, with their exit
    status). `soak` calls this once per seed."""
    repro_dir = Path(args.repro_dir)
    repro_dir.mkdir(parents=True, exist_ok=True)
    places, failed = prepare_environments(args, rows)
    installed = [r for r in rows if r.label in places or (r.spec is None and r.backend.missing_package() is None)]
    for row in rows:
        if row not in installed and row.label not in failed:
            print(f"{row.label}: {not_installed_message(row.backend)}", flush=True)
    stopped_by = None
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        with tempfile.TemporaryDirectory(prefix="rnn-conformance-") as scratch:
            split = split_by_module(args)
            workers = {r.label: Worker(r.backend, worker_options(args), Path(scratch), repro_dir, split, places.get(r.label), r.label)
                       for r in installed}
            try:
                order = longest_first([r.backend for r in installed])  # (a backend's rows keep their order)
                ordered = sorted(installed, key=lambda r: order.index(r.backend))
                run_workers([workers[r.label] for r in ordered], args.jobs, args.backend_timeout)
            except (KeyboardInterrupt, Terminated) as stop:
                stopped_by = type(stop)
            for number in previous:  # the reports are written whatever comes now
                signal.signal(number, signal.SIG_IGN)
            outcomes = {name: worker.outcome() for name, worker in workers.items()}
        run_report = merged_report(args, rows, outcomes, failed)
        if stopped_by is not None:
            run_report["interrupted"] = True
            run_report["exit_status"] = INTERRUPTED_EXIT_STATUS[stopped_by]
            print(f"\nrnn-conformance: {'interrupted' if stopped_by is KeyboardInterrupt else 'terminated'}: "
                  "every worker is ended; the report covers the backends that finished", flush=True)
        return run_report
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop(number, frame):
    """SIGINT or SIGTERM: stop once (a second signal must not cut the clean-up short)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt if number == signal.SIGINT else Terminated()


def prepare_environments(args, rows):
    """Create (or find) the managed environment of each row that runs in one:
    ({row label: Environment}, {row label: why its environment failed})."""
    places, failed, made = {}, {}, {}
    for row in (r for r in rows if r.spec is not None):
        if row.spec not in made:
            try:
                made[row.spec] = environments.ensure(row.spec, args.env_dir, say=lambda line: print(line, flush=True))
            except environments.EnvironmentFailure as error:
                made[row.spec] = error
                print(f"{row.label}: NOT INSTALLED: {error}", flush=True)
        if isinstance(made[row.spec], environments.EnvironmentFailure):
            failed[row.label] = f"NOT INSTALLED: {made[row.spec]}"
        else:
            places[row.label] = made[row.spec]
    return places, failed


def merged_report(args, rows, outcomes, failed=None):
    """One report in the order the backends were named; a backend without a usable worker
    report is an error entry, one not installed here a not-installed entry (with the reason
    its managed environment could not be created, if it has one: exit status 3)."""
    failed = failed or {}
    reports = [finished for finished, _ in outcomes.values() if finished is not None]
    run_report = report.merge_reports(reports, args.profile)
    entries = {}  # row label -> its backend's entry in its worker's report, named by the label
    for row in rows:
        finished = outcomes.get(row.label, (None, None))[0] or {"backends": []}
        own = [b for b in finished["backends"] if b["name"] == row.backend.name]
        if own:
            entries[row.label] = {**own[0], "name": row.label}
    run_report["backends"] = [
        entries.get(r.label) or _entry_without_report(r, outcomes.get(r.label, (None, None))[1], failed.get(r.label))
        for r in rows
    ]
    status = report.exit_status(run_report)
    named_missing = args.backends is not None and any(r.spec is None and r.backend.missing_package() is not None for r in rows)
    if status in (0, report.INCOMPLETE_EXIT_STATUS) and (named_missing or failed):
        status = 3  # a backend you named, or one whose environment failed, could not be tested
    run_report["exit_status"] = status
    return run_report


def _entry_without_report(row, error, environment_failure=None):
    backend = row.backend
    return {
        "name": row.label,
        "level": backend.level,
        "version": None,
        "modes": list(backend.modes),
        "status": "error" if error else "not-installed",
        "reason": error or environment_failure or not_installed_message(backend),
        "results": [],
    }


def show_and_write(args, run_report):
    """The matrix, the new divergences, the summary (its last line the verdict); the files."""
    view = results.ReportView(run_report)  # every rendering below reads the same derived rows
    print()
    print(report.matrix_text(view))
    changed = report.ledger_lines(view)
    if changed:
        print("\nDeclared divergences whose case changed:\n" + "\n".join(changed))
    details = report.divergences_text(view)
    if details:
        print("\nNew divergences:\n" + details)
    written = args.report
    if written is None and report.proposes_edits(view):  # what `known update` reads: kept, and said
        written = Path(args.repro_dir) / "report.json"
    unwritten = []  # a file asked for that could not be written: said in one line, the run fails
    for path, write, said in ((written, report.write_json, "\nreport"), (args.markdown, report.write_markdown, "markdown")):
        if path:
            try:
                write(view, path)
                print(f"{said} written to {path}")
            except output_paths.OutputError as error:
                unwritten.append(path)
                print(f"rnn-conformance: error: {error}", file=sys.stderr, flush=True)
    if report.proposes_edits(view) and written not in unwritten:
        print(f"rnn-conformance known update --report {written} writes the edits proposed above (then review git diff)")
    if getattr(args, "cell", None):
        notes = cell_author_notes.notes_text(view)
        if notes:
            print("\n" + notes)
    print()
    print(report.summary_text(view), flush=True)
    return unwritten
