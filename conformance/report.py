"""What a run found, as data: the JSON report, the divergence matrix and its Markdown.

The plugin turns each property outcome into a result (a plain dict, so reports of
several worker processes merge by concatenation); this module builds the versioned JSON
report from them, merges reports, and renders the matrix: one row per backend x mode,
one column per area of the contract (conformance/areas.py).

Schema (`"schema_version": 1`), documented in README.md ("The JSON report"):
    {"schema": "rnn-conformance-report", "schema_version": 1, "created": ISO time,
     "profile": "ci", "max_examples": 25, "python": "3.11.x", "platform": ...,
     "exit_status": 0,
     "backends": [{"name", "level", "version", "modes", "status", "reason",
                   "results": [{"mode", "property", "rule", "area", "outcome", "summary",
                                "known_divergence", "example", "case", "reproducer"}],
                   "speed": {mode: {"examples", "data_sets", "compiled", "seconds", "traced", "reused", "crashed"}}}]}
status: conforms | diverges | not-installed | error.
outcome: pass | fail | crash | known | known-fixed | not-applicable | not-installed.
"""

import datetime
import json
import platform
from dataclasses import asdict

from conformance.areas import AREA_IDS, AREA_OF_OPTION, AREAS, area_of_failure, areas_covered
from conformance.facts import example_facts

SCHEMA = "rnn-conformance-report"
SCHEMA_VERSION = 1
NEW_PROBLEMS = ("fail", "crash", "known-fixed")  # what makes a run exit 1


def example_configuration(example):
    """The minimal example's configuration: readable, JSON-able, without its data."""
    if example is None:
        return None
    facts = {k: (v if isinstance(v, (bool, int, str, float)) else str(v)) for k, v in example_facts(example).items()}
    configuration = {
        "repr": repr(example),
        "options": asdict(example.options),
        "mask": None if example.mask is None else example.mask.astype(int).tolist(),
        "facts": facts,
    }
    layer = getattr(example, "layer", None)
    if layer is not None:
        configuration["layer"] = asdict(layer)
    return configuration


def result(target, property_id, outcome, rule=None, summary="", example=None, known_divergence=None, case=None, reproducer=None):
    """One outcome of one property on one target."""
    if outcome in ("pass", "not-applicable", "not-installed"):
        lacking = {AREA_OF_OPTION[o] for o in target.backend.unsupported_options if o in AREA_OF_OPTION}
        areas = [a for a in areas_covered(property_id) if a not in lacking] if outcome == "pass" else []
    else:
        areas = [area_of_failure(rule or "", example)]
    return {
        "backend": target.backend.name,
        "mode": target.mode,
        "property": property_id,
        "rule": rule,
        "areas": areas,
        "outcome": outcome,
        "summary": summary,
        "known_divergence": known_divergence,
        "example": example_configuration(example),
        "case": None if case is None else str(case),
        "reproducer": None if reproducer is None else str(reproducer),
    }


def backend_status(results, not_installed_reason=None, error=None):
    if error:
        return "error"
    if not_installed_reason and not any(r["outcome"] not in ("not-installed", "not-applicable") for r in results):
        return "not-installed"
    if any(r["outcome"] in NEW_PROBLEMS + ("known",) for r in results):
        return "diverges"
    return "conforms" if any(r["outcome"] == "pass" for r in results) else "not-installed"


def build_report(backends, results, profile, errors=None, speed=None):
    """The report of one run: `backends` are Backend objects, `results` from `result()`,
    `errors` a {backend name: message} for workers that failed, `speed` a {backend name:
    {mode: {"examples", "data_sets", "compiled", "seconds", "traced", "reused", "crashed"}}} (what the run cost, per mode)."""
    errors, speed = errors or {}, speed or {}
    entries = []
    for backend in backends:
        own = [r for r in results if r["backend"] == backend.name]
        reason = next((r["summary"] for r in own if r["outcome"] == "not-installed"), None)
        installed = backend.missing_package() is None
        entries.append(
            {
                "name": backend.name,
                "level": backend.level,
                "version": backend.version() if installed else None,
                "modes": list(backend.modes),
                "status": backend_status(own, reason, errors.get(backend.name)),
                "reason": errors.get(backend.name) or reason,
                "results": [{k: v for k, v in r.items() if k != "backend"} for r in own],
                "speed": speed.get(backend.name, {}),
            }
        )
    report = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backends": entries,
    }
    report["exit_status"] = exit_status(report)
    return report


def merge_reports(reports, profile):
    """Several workers' reports as one (each worker tested different backends)."""
    merged = dict(reports[0]) if reports else build_report([], [], profile)
    merged["profile"] = profile
    merged["backends"] = [b for r in reports for b in r["backends"]]
    merged["exit_status"] = exit_status(merged)
    return merged


def exit_status(report):
    """0 all tested conforms (declared divergences reproduced as declared); 1 anything new,
    a crash, a fixed declared divergence or a failed worker; 3 nothing could be tested."""
    backends = report["backends"]
    if any(b["status"] == "error" for b in backends):
        return 1
    if any(r["outcome"] in NEW_PROBLEMS for b in backends for r in b["results"]):
        return 1
    if not any(r["outcome"] in ("pass", "known") for b in backends for r in b["results"]):
        return 3
    return 0


def write_json(report, path):
    with open(path, "w") as out:
        json.dump(report, out, indent=1)
        out.write("\n")


# -- the matrix -------------------------------------------------------------------------

CELL_ORDER = ("CRASH", "DIVERGES", "known fixed", "known", "conforms")


def matrix_rows(report):
    """[(row label, {area: cell})]: one row per backend x mode."""
    rows = []
    for backend in report["backends"]:
        for mode in backend["modes"]:
            label = f"{backend['name']} [{mode}]"
            if backend["status"] in ("not-installed", "error"):
                cell = "not installed" if backend["status"] == "not-installed" else "ERROR"
                rows.append((label, {area: cell for area in AREA_IDS}))
                continue
            cells = {}
            for r in backend["results"]:
                if r["mode"] != mode:
                    continue
                value = {"pass": "conforms", "fail": "DIVERGES", "crash": "CRASH", "known": "known", "known-fixed": "known fixed"}.get(r["outcome"])
                for area in r["areas"] if value else ():
                    current = cells.get(area)
                    if current is None or CELL_ORDER.index(value) < CELL_ORDER.index(current):
                        cells[area] = value
            rows.append((label, cells))
    return rows


_SHORT = {"conforms": "ok", "known": "known", "DIVERGES": "DIVERGES", "CRASH": "CRASH", "known fixed": "FIXED?", "not installed": "n/i", "ERROR": "ERROR"}


def matrix_text(report):
    """The matrix for a terminal, areas as short columns, a legend under it."""
    rows = matrix_rows(report)
    width = max([len(label) for label, _ in rows] + [10])
    columns = [max(len(area), 8) for area in AREA_IDS]
    lines = [" " * width + "  " + "  ".join(area.ljust(w) for area, w in zip(AREA_IDS, columns))]
    for label, cells in rows:
        values = [_SHORT.get(cells.get(area), "-") for area in AREA_IDS]
        lines.append(label.ljust(width) + "  " + "  ".join(v.ljust(w) for v, w in zip(values, columns)))
    lines.append("")
    lines.append("ok conforms; known: declared divergence reproduced; DIVERGES / CRASH: new; FIXED?: a declared")
    lines.append("divergence no longer reproduces; n/i: not installed; -: not tested here. Areas:")
    lines += [f"  {area}: {text}" for area, text in AREAS]
    return "\n".join(lines)


def matrix_markdown(report):
    rows = matrix_rows(report)
    lines = ["| backend [mode] | " + " | ".join(AREA_IDS) + " |", "|---|" + "---|" * len(AREA_IDS)]
    for label, cells in rows:
        lines.append(f"| `{label}` | " + " | ".join(cells.get(area, "-") for area in AREA_IDS) + " |")
    new = new_divergences(report)
    if new:
        lines += ["", "New divergences:", ""]
        lines += [f"- `{d['backend']} [{d['mode']}]` {d['property']}: [{d['rule']}] {d['summary']}" for d in new]
    return "\n".join(lines) + "\n"


def new_divergences(report):
    """Every fail, crash or fixed declared divergence, with its backend."""
    return [
        {"backend": b["name"], **r}
        for b in report["backends"]
        for r in b["results"]
        if r["outcome"] in NEW_PROBLEMS
    ]


def divergences_text(report):
    """Under the matrix: each new divergence, its rule, minimal example and reproducer."""
    lines = []
    for d in new_divergences(report):
        lines.append(f"{d['backend']} [{d['mode']}] {d['property']}: {d['outcome'].upper()} [{d['rule']}] {d['summary']}")
        if d["example"]:
            lines.append(f"  minimal example: {d['example']['repr']}")
        for key in ("reproducer", "case"):
            if d.get(key):
                lines.append(f"  {key}: {d[key]}")
    for b in report["backends"]:
        if b["status"] == "error":
            lines.append(f"{b['name']}: ERROR: {b['reason']}")
    return "\n".join(lines)


def summary_text(run_report):
    """What the run ends with on screen: per-mode speed, the declared divergences that
    matched, and the one-line verdict last."""
    return verdict_line(run_report)


def verdict_line(run_report):
    """One line: passed or failed, and why."""
    return "rnn-conformance: " + ("PASSED" if run_report["exit_status"] == 0 else "FAILED") + f" (exit status {run_report['exit_status']})"
