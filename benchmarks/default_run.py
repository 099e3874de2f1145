"""Part `default-run` (only when asked; minutes): the default run against its target.

`rnn-conformance` with no backend named, CI=true (the `ci` profile), `--jobs` left at its
default: what a user's first command and the results table of docs/measurements run. Its wall time
is checked against the 10-minute target of this 2-core machine, and its report gives
examples/s and reuse per backend and mode (the results tables of docs/measurements come from the
same report, kept at `--report`).
"""

import sys
import tempfile
from pathlib import Path

from benchmarks.wall import speed_rows, timed

TARGET_SECONDS = 600


def run(chosen_backends, quick):
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "default-run.json"
        command = [sys.executable, "-m", "conformance", "--report", str(report), "--repro-dir", str(Path(tmp) / "repros")]
        if chosen_backends:
            command += ["--backends", ",".join(chosen_backends)]
        result = timed(command)
        result["report"] = report.read_text() if report.exists() else None
        result["speed"] = speed_rows(report)
    result["target_seconds"] = TARGET_SECONDS
    return result


def table(result):
    within = "within" if result["seconds"] <= TARGET_SECONDS else "OVER"
    lines = [f"default-run: rnn-conformance with CI=true, {result['seconds']:.1f} s, exit status {result['exit_status']} "
             f"({within} the {TARGET_SECONDS} s target)", f"  last line: {result['last_line']}"]
    for row in result["speed"] or []:
        rate = "-" if row["examples_per_second"] is None else f"{row['examples_per_second']:.1f}"
        reused = "n/a" if row["reused_share"] is None else f"{100 * row['reused_share']:.0f}%"
        lines.append(f"  {row['backend'] + ' [' + row['mode'] + ']':36} {rate:>8} examples/s {reused:>5} reused")
    return "\n".join(lines)
