"""Part `wall` (only when asked; about an hour): wall time of whole runs, CLI against pytest.

Each run is a subprocess with CI=true (the derandomized `ci` profile) from the current
directory, with this same Python. The `--jobs 1` report's per-mode speed, when present,
gives examples and data sets (examples plus, in compiled modes, their siblings) per
second, and how often a compiled function was reused, not retraced.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def commands(report_dir):
    return {
        "rnn-conformance --jobs 1": [sys.executable, "-m", "conformance", "--jobs", "1", "--report", str(report_dir / "jobs1.json")],
        "rnn-conformance --jobs 2": [sys.executable, "-m", "conformance", "--jobs", "2", "--report", str(report_dir / "jobs2.json")],
        "pytest conformance": [sys.executable, "-m", "pytest", "conformance"],
        "pytest -n 2 conformance": [sys.executable, "-m", "pytest", "-n", "2", "conformance"],
    }


def timed(command):
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "CI": "true"}, capture_output=True, text=True)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return {"seconds": time.perf_counter() - started, "exit_status": done.returncode, "last_line": lines[-1] if lines else ""}


def speed_rows(report_path):
    """Examples/s, data sets/s and reuse share per backend x mode from a report's "speed"
    (the reuse share only for modes that compile)."""
    try:
        report = json.loads(Path(report_path).read_text())
    except (OSError, ValueError):
        return None
    rows = []
    for backend in report.get("backends", []):
        for mode, speed in (backend.get("speed") or {}).items():
            seconds = speed.get("seconds", 0)
            calls = speed.get("traced", 0) + speed.get("reused", 0)
            rows.append({"backend": backend.get("name"), "mode": mode,
                         "examples_per_second": speed.get("examples", 0) / seconds if seconds else None,
                         "data_sets_per_second": speed.get("data_sets", 0) / seconds if seconds else None,
                         "reused_share": speed.get("reused", 0) / calls if calls and speed.get("compiled") else None})
    return rows


def run(chosen_backends, quick):
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: timed(command) for name, command in commands(Path(tmp)).items()}
        speed = speed_rows(Path(tmp) / "jobs1.json")
    return {"runs": runs, "speed": speed}


def table(result):
    lines = ["wall: whole runs with CI=true", f"  {'run':28} {'seconds':>9} {'exit':>4}"]
    for name, r in result["runs"].items():
        lines.append(f"  {name:28} {r['seconds']:9.1f} {r['exit_status']:4d}")
    if not result["speed"]:
        lines.append("  (the --jobs 1 report has no per-mode \"speed\": examples/s not available)")
        return "\n".join(lines)
    lines.append(f"  {'target':30} {'examples/s':>10} {'data sets/s':>11} {'reused':>7}")
    for row in result["speed"]:
        rate, data_rate = ("-" if r is None else f"{r:.1f}" for r in (row["examples_per_second"], row["data_sets_per_second"]))
        reused = "n/a" if row["reused_share"] is None else f"{100 * row['reused_share']:.0f}%"
        lines.append(f"  {row['backend'] + ' [' + row['mode'] + ']':30} {rate:>10} {data_rate:>11} {reused:>7}")
    return "\n".join(lines)
