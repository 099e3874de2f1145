"""Part `fail-fast`: how long `rnn-conformance --backends tensorflow-2018 --fail-fast`
takes to reach its verdict (exit status 1, the 2018 bug shrunk and reported).

The whole command is timed as a user runs it, from a subprocess with the `ci` profile:
Python and framework start-up, the worker, finding the first divergence, shrinking it,
writing the reproducer and the report. Target: exit status 1 in under 60 s.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import not_installed
from conformance.backends import get_backend

BACKEND = "tensorflow-2018"
VERDICT_SECONDS = 60.0


def run(chosen_backends, quick):
    """The command's wall time to its verdict (quick: --max-examples 5, same target)."""
    if chosen_backends is not None and BACKEND not in chosen_backends:
        return {"backend": BACKEND, "skipped": "not selected by --backends"}
    skipped = not_installed(get_backend(BACKEND))
    if skipped:
        return {"backend": BACKEND, "skipped": skipped}
    with tempfile.TemporaryDirectory(prefix="bench-fail-fast-") as scratch:
        report_path = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "conformance", "--backends", BACKEND, "--fail-fast", "--profile", "ci",
                   "--report", str(report_path), "--repro-dir", str(Path(scratch) / "repros")]
        if quick:
            command += ["--max-examples", "5"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=scratch)
        seconds = time.perf_counter() - started
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    failing = [r for b in (report or {}).get("backends", []) for r in b["results"] if r["outcome"] in ("fail", "crash")]
    first = failing[0] if failing else None
    lines = done.stdout.strip().splitlines()
    return {
        "backend": BACKEND, "skipped": None, "command": " ".join(["rnn-conformance", *command[3:]]),
        "seconds": seconds, "exit_status": done.returncode, "new_divergences": len(failing),
        "first_rule": first and first["rule"], "first_property": first and first["property"],
        "minimal_example": first and first["example"] and first["example"]["repr"],
        "last_line": lines[-1] if lines else (done.stderr.strip().splitlines() or [""])[-1],
        "targets_met": {f"exit status 1 in under {VERDICT_SECONDS:g} s": done.returncode == 1 and seconds < VERDICT_SECONDS},
    }


def table(result):
    head = f"fail-fast: rnn-conformance --backends {result['backend']} --fail-fast (whole command, ci)"
    if result["skipped"]:
        return f"{head}\n  {result['skipped']}"
    lines = [head, f"  exit status {result['exit_status']} after {result['seconds']:.1f} s; "
                   f"{result['new_divergences']} new divergence(s), the first {result['first_property']} [{result['first_rule']}]",
             f"  minimal example: {result['minimal_example']}", f"  last line: {result['last_line']}"]
    lines += [f"  {'met ' if met else 'MISSED'} {target}" for target, met in result["targets_met"].items()]
    return "\n".join(lines)
