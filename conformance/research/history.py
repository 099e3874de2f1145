"""The release history of the declared divergences: which releases each one is in.

A declared divergence's case (its minimal example, conformance/known/*.json) is cheap to
replay. This replays every entry of a package's rows (Keras 3: the keras-* and
layer-keras-* rows; tf-keras: tf-keras and layer-tf-keras) on every release given, each
in its managed overlay environment (conformance/research/releases.py), and records per entry,
mode and release what the case does there:

  present  it diverges as declared (the entry's rule or shows_as, its condition holds)
  absent   it agrees with the reference
  other    it diverges otherwise (another rule, another crash)
  error    the replay itself failed (the release does not run here, a harness error)

(and in the table "." where an entry was not replayed on a release: joined histories
of entries replayed on fewer releases).

From that, `ranges` gives each entry the releases where it really reproduces (what its
`versions` should say) and `table` renders the history tables of docs/releases.md.

    python -m conformance.research.history run --package keras --versions 3.0.0,3.15.1 --out h.json [--jobs 2]
    python -m conformance.research.history run ... --entries ID,ID --out new.json   (only those entries)
    python -m conformance.research.history table h.json [new.json ...] [--by-series]   (Markdown)
    python -m conformance.research.history ranges h.json [new.json ...]   (each entry's reproducing range)
    python -m conformance.research.history replay --package keras   (inside an environment: JSON lines)
"""

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.version import Version

REPLAY_TIMEOUT_S = 1800
MARK = {"present": "P", "absent": "-", "other": "O", "error": "E", "not replayed": "."}


def entries_of(package, only=None):
    """The package's entries, or of them those whose ids `only` lists (an unknown id is an error)."""
    from conformance.known.ledger import load
    from conformance.research.releases import PACKAGES

    entries = [e for e in load() if e.backend in PACKAGES[package]["rows"]]
    if only:
        unknown = sorted(set(only) - {e.id for e in entries})
        if unknown:
            raise SystemExit(f"python -m conformance.research.history: no {package} entry {', '.join(unknown)}")
        entries = [e for e in entries if e.id in only]
    return entries


def replay(package, out=sys.stdout, only=None):
    """Inside an environment: replay each entry's case in each of its modes, one JSON line each."""
    from conformance.judge import run_state

    with run_state.running(run_state.RunState(example_timeout=120)):
        _replay_each(entries_of(package, only), out)


def _replay_each(entries, out):
    from conformance.backends import get_backend
    from conformance.replay.known_replay import replay
    from conformance.replay.repro import load_case
    from conformance.judge.targets import Target

    for entry in entries:
        for mode in entry.modes:
            target, started = Target(get_backend(entry.backend), mode), time.monotonic()
            try:
                body, example, drawn = load_case(entry.example)
                divergence = replay(entry, target, body, target.applicable(example), drawn)
                if divergence is None:
                    outcome, detail = "absent", ""
                else:
                    outcome = "present" if entry.matches(divergence) else "other"
                    detail = f"{divergence.rule}: {str(divergence).splitlines()[0][:300]}"
            except Exception as error:  # noqa: BLE001 - recorded: the release does not run the case at all
                outcome, detail = "error", f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"
            out.write(json.dumps({"entry": entry.id, "backend": entry.backend, "mode": mode, "outcome": outcome,
                                  "detail": detail, "seconds": round(time.monotonic() - started, 2)}) + "\n")
            out.flush()


def run_release(package, version, env_dir=None, only=None):
    """{version, seconds, created_in, results | error}: the replays of one release."""
    from conformance.base import environments
    from conformance.research import releases

    started = time.monotonic()
    record = {"package": package, "version": version}
    try:
        environment = environments.ensure(releases.environment_of(package, version), env_dir, say=lambda line: None)
    except environments.EnvironmentFailure as error:
        return {**record, "error": str(error), "seconds": round(time.monotonic() - started, 1)}
    record["environment_seconds"] = environment.created()["seconds"]
    command = [str(environment.python), "-m", "conformance.research.history", "replay", "--package", package]
    command += ["--entries", ",".join(only)] if only else []
    try:
        finished = subprocess.run(command, capture_output=True, text=True, env=environment.worker_env(), timeout=REPLAY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {**record, "error": f"replay timed out after {REPLAY_TIMEOUT_S} s", "seconds": round(time.monotonic() - started, 1)}
    lines = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    record.update(results=lines, seconds=round(time.monotonic() - started, 1))
    if finished.returncode != 0:
        tail = [line for line in finished.stderr.splitlines() if line.strip()][-1:] or ["(no output)"]
        record["error"] = f"replay exited with status {finished.returncode}: {tail[0][:300]}"
    return record


def run(package, versions, out, jobs=1, env_dir=None, only=None):
    entries_of(package, only)  # an unknown id fails here, before any environment is made
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        records = list(pool.map(lambda v: _said(run_release(package, v, env_dir, only)), versions))
    Path(out).write_text(json.dumps({"package": package, "releases": records}, indent=1) + "\n")
    return records


def _said(record):
    counts = {}
    for r in record.get("results", []):
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    print(f"{record['package']} {record['version']}: {record['seconds']} s, {counts}"
          + (f"; ERROR: {record['error']}" if record.get("error") else ""), flush=True)
    return record


def joined(histories):
    """Several history files of one package as one (later runs, e.g. of new entries only,
    beside the full one): per release, the results of every file."""
    if len({h["package"] for h in histories}) > 1:
        raise SystemExit("python -m conformance.research.history: the history files are of different packages")
    releases = {}
    for history in histories:
        for record in history["releases"]:
            into = releases.setdefault(record["version"], {"version": record["version"], "results": []})
            into["results"] += record.get("results", [])
            if record.get("error") and not record.get("results"):
                into.setdefault("error", record["error"])
    return {"package": histories[0]["package"], "releases": list(releases.values())}


def outcomes(history):
    """{entry id: {version: outcome over its modes}}: present if any mode reproduces it."""
    rank = ("present", "other", "error", "absent")
    table = {}
    for record in history["releases"]:
        for r in record.get("results", []):
            cell = table.setdefault(r["entry"], {})
            now = cell.get(record["version"])
            cell[record["version"]] = r["outcome"] if now is None else min(now, r["outcome"], key=rank.index)
        if record.get("error") and not record.get("results"):
            for entry in table.values():
                entry.setdefault(record["version"], "error")
    return table


def ranges(history):
    """{entry id: (first, last) release where it is present, or None}: the span of its
    present releases, and whether a release inside that span lacks it (not contiguous)."""
    spans = {}
    for entry, by_version in outcomes(history).items():
        present = sorted((Version(v) for v, o in by_version.items() if o == "present"))
        if not present:
            spans[entry] = None
            continue
        inside = [v for v in by_version if present[0] <= Version(v) <= present[-1]]
        gaps = [v for v in inside if by_version[v] != "present"]
        spans[entry] = (str(present[0]), str(present[-1]), sorted(gaps, key=Version))
    return spans


def table(history, by_series=False):
    """Markdown: one row per entry, one column per release, or with `by_series` per minor
    series (3.0 holds 3.0.0-3.0.5): its mark where every release of it agrees, else each
    mark with its count."""
    versions = sorted({r["version"] for r in history["releases"]}, key=Version)
    columns = {}
    for v in versions:
        columns.setdefault(".".join(v.split(".")[:2]) if by_series else v, []).append(v)
    head = [f"{name} ({len(members)})" if by_series else name for name, members in columns.items()]
    lines = ["| entry | " + " | ".join(head) + " |", "|---|" + "---|" * len(columns)]
    for entry, by_version in sorted(outcomes(history).items()):
        cells = []
        for members in columns.values():
            marks = [MARK[by_version.get(v, "not replayed")] for v in members]
            cells.append(marks[0] if len(set(marks)) == 1 else " ".join(f"{m}{marks.count(m)}" for m in dict.fromkeys(marks)))
        lines.append(f"| `{entry}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m conformance.research.history", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("replay")
    one.add_argument("--package", required=True, choices=("keras", "tf-keras"))
    one.add_argument("--entries", help="comma-separated entry ids (default: every entry of the package)")
    many = commands.add_parser("run")
    many.add_argument("--package", required=True, choices=("keras", "tf-keras"))
    many.add_argument("--versions", required=True, help="comma-separated releases")
    many.add_argument("--out", required=True)
    many.add_argument("--jobs", type=int, default=1)
    many.add_argument("--env-dir")
    many.add_argument("--entries", help="comma-separated entry ids (default: every entry of the package)")
    for name in ("table", "ranges"):
        commands.add_parser(name).add_argument("history", nargs="+", help="history files of one package, joined")
    commands.choices["table"].add_argument("--by-series", action="store_true", help="one column per minor series")
    args = parser.parse_args(argv)
    only = [e.strip() for e in (getattr(args, "entries", None) or "").split(",") if e.strip()]
    if args.command == "replay":
        replay(args.package, only=only)
    elif args.command == "run":
        run(args.package, [v.strip() for v in args.versions.split(",") if v.strip()], args.out, args.jobs, args.env_dir, only)
    else:
        history = joined([_read_history(path) for path in args.history])
        if args.command == "table":
            print(table(history, args.by_series))
        else:
            for entry, span in sorted(ranges(history).items()):
                print(entry, span)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _read_history(path):
    """A release history (JSON) the user named: a regular file, at most 64 MiB; one line otherwise."""
    from cells.case_fields import short
    from cells.input_files import InputFileError, read_text

    try:
        return json.loads(read_text(path, "history", 64 * 2**20))
    except (InputFileError, ValueError, RecursionError) as error:
        raise SystemExit(f"python -m conformance.research.history: {short(str(error)) if not isinstance(error, InputFileError) else error}") from None
