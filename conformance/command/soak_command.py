"""`rnn-conformance soak`: run the backends under many random seeds and triage what no
declared divergence excuses.

A gate is only as good as its triage: the `ci` sample is one draw, and a developer's
`dev` run, or a Hypothesis release, draws another. `soak` runs the selected backends
(`run`'s workers, `run_command.execute`) once per seed, seeds FIRST..FIRST+N-1 under a
random profile (`dev` or `thorough`) with Hypothesis' example database off, so each seed's
run stands alone and replays with `rnn-conformance run --profile P --seed S`. Every worker
records the facts of each example it ran (conformance/harness/seen.py). Then conformance/research/triage.py
groups the new failures of every seed by suspected root cause and proposes, for each, the
tightest condition over the facts that covers its members and no example seen to pass.
It proposes; a person declares (docs/known-divergences.md).

Each seed's report, cases and reproducers stay under --repro-dir/seed-S/; the soak's own
report is --report (JSON) and --markdown, and its text is printed at the end.

Exit status: 0 no undeclared failure on any seed (every declared divergence reproduced);
1 a group, a declared divergence that did not reproduce, or a worker without a usable
report; 2 bad input; 3 a selected backend is not installed (after the first seed, which
says so); 130/143 interrupted: the seeds that finished are triaged and written.
"""

import argparse
import json
import secrets
import time
from pathlib import Path

from conformance.known import ledger as known
from conformance.command import run_command
from conformance.research import soak_report
from conformance.research import triage
from conformance.backends import UnknownBackend
from conformance.backends.impl import ImplError
from conformance.base.usage import UsageError, usage_error

# The pytest options every soak worker gets on top of run's: the facts of every example
# (triage needs the passing ones), and no example database (a failure saved by an earlier
# seed would be replayed first, so a seed would not stand alone).
SOAK_WORKER_OPTIONS = ["--record-examples", "--no-example-database"]
# Declared divergences replay their saved case, the same on every seed: the first seed
# replays them, later seeds leave their test out (-k), which saves a minute a seed.
WITHOUT_REPLAYS = ["-k", "not test_known_divergences"]


def main(args):
    """Check the input, run every seed, triage, write; returns the exit status."""
    try:
        run_command.check_inputs(args)
        backends = run_command.selected_backends(args)
        rows = run_command.selected_rows(args, backends)
    except (UsageError, UnknownBackend, ImplError, known.KnownDivergenceError) as error:
        return usage_error(error)
    first = args.first_seed if args.first_seed is not None else secrets.randbelow(2**31)
    seeds = list(range(first, first + args.seeds))
    print(f"rnn-conformance soak: {soak_report.counted(len(seeds), 'seed')} ({first}..{seeds[-1]}; --first-seed {first} repeats this soak), "
          f"profile {args.profile}, backends: {', '.join(r.label for r in rows)}", flush=True)
    reports, runs, status = {}, [], None
    for number, seed in enumerate(seeds):
        seed_args = seed_arguments(args, seed, replays=number == 0)
        started = time.perf_counter()
        report = run_command.execute(seed_args, rows)
        seconds = time.perf_counter() - started
        if report.get("interrupted"):  # a seed cut short is not triaged: it would read as failed workers
            print(f"rnn-conformance soak: interrupted during seed {seed}: the {number} seeds before it are triaged", flush=True)
            status = report["exit_status"]
            break
        path = Path(seed_args.repro_dir) / "report.json"
        path.write_text(json.dumps(report, indent=1))
        reports[seed] = report
        runs.append({"seed": seed, "exit_status": report["exit_status"], "seconds": round(seconds, 1), "report": str(path)})
        print(f"rnn-conformance soak: seed {seed} ({number + 1}/{len(seeds)}): {seed_line(report)}, {seconds:.0f} s", flush=True)
        if report["exit_status"] == 3:
            print("rnn-conformance soak: a selected backend is not installed (see above): no seed would test it", flush=True)
            status = 3
            break
    soak = soak_report.build(args, seeds, runs, reports, triage.triage(reports))
    if status is not None:
        soak["exit_status"] = status
    return write_and_show(args, soak)


def seed_arguments(args, seed, replays):
    """`run`'s arguments for one seed: its own --repro-dir, no report files of its own."""
    seed_args = argparse.Namespace(**vars(args))
    seed_args.seed = seed
    seed_args.repro_dir = str(Path(args.repro_dir) / f"seed-{seed}")
    seed_args.report = seed_args.markdown = None
    seed_args.fail_fast = False
    seed_args.extra_worker_options = SOAK_WORKER_OPTIONS + ([] if replays else WITHOUT_REPLAYS)
    return seed_args


def seed_line(report):
    """'N new failures' or 'no new failure' and what else went wrong, for one seed."""
    new = sum(1 for b in report["backends"] for r in b["results"] if r["outcome"] in triage.NEW and not r.get("replay"))
    parts = [soak_report.counted(new, 'new failure') if new else "no new failure"]
    fixed = sum(1 for b in report["backends"] for r in b["results"] if r["outcome"] in ("known-fixed", "known-changed"))
    if fixed:
        parts.append(f"{fixed} declared not reproduced")
    broken = [b["name"] for b in report["backends"] if b["status"] in ("error", "not-installed")]
    if broken:
        parts.append(f"not tested: {', '.join(broken)}")
    return "; ".join(parts)


def write_and_show(args, soak):
    """Write the JSON and Markdown asked for, print the text; returns the exit status."""
    text = soak_report.markdown(soak)
    if args.report:
        Path(args.report).write_text(json.dumps(soak, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(text)
    print()
    print(text, flush=True)
    for option, path in (("report", args.report), ("markdown", args.markdown)):
        if path:
            print(f"{option} written to {path}")
    return soak["exit_status"]

