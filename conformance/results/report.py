"""What a run found, as data and as text: the JSON report, the matrix, the run's last lines.

The plugin records each property outcome as a result (conformance/results/results.py, the one
results model); this module builds the versioned JSON report from them, merges the
reports of several workers, and renders the model: the divergence matrix (one row per
backend x mode, one column per area of the contract, conformance/results/areas.py) for a
terminal and as Markdown, the new divergences under it, and the summary a run ends with.

Schema (`"schema_version": 1`), documented in docs/reports.md ("The JSON report"):
    {"schema": "rnn-conformance-report", "schema_version": 1, "created": ISO time,
     "profile": "ci", "max_examples": 25, "python": "3.11.x", "platform": ...,
     "exit_status": 0, "interrupted": false,
     "known_files": [paths of the known-divergence files the run used, layered in order],
     "backends": [{"name", "level", "version", "code", "modes", "status", "reason",
                   "results": [{"mode", "property", "rule", "covers", "areas", "outcome", "summary",
                                "known_divergence", "excused", "replay", "example", "case", "reproducer",
                                "resembles", "declared_underneath", "cannot_run", "edit", "known_file",
                                "tested_version", "coverage", "not_minimal"}],
                   "speed": {mode: {"examples", "drawn", "shrinking", "shrink_cut_short", "data_sets",
                                    "compiled", "seconds", "traced", "reused", "crashed",
                                    "grad_traced", "grad_reused", "grad_crashed"}}}]}
status: conforms | diverges | incomplete | not-installed | error | not run.
outcome: pass | fail | crash | known | known-fixed | known-changed | not-applicable | not-installed.
code: what each package of the backend says of itself where it ran (conformance/base/code_versions.py):
[{"module", "version", "path", "metadata", "disagreement"}]; version is their text.
rule: a contract rule id, "unclassified" for a failure that names none, null for a pass.
covers: the areas the property ran in; areas: the matrix columns the result is shown in.
excused: for a "known" result met while the property ran, the examples the entry excused
there (null otherwise); replay: true for the re-run of a declared divergence's saved case.
Added within version 1: speed, covers, excused, replay, interrupted, speed's drawn,
shrinking (calls made while shrinking) and shrink_cut_short; speed's grad_traced,
grad_reused and grad_crashed (the value-and-grad functions of the gradient properties);
known_files, code, known-changed, resembles (which replaced declared_elsewhere), edit,
known_file and tested_version; coverage ({"needed", "covered", "topped_up", "top_up_runs",
"uncovered", "asked_fewer"}, for a property that passed: conformance/harness/covering.py), the
status incomplete and the exit status 6; not_minimal (the note of a failure whose shrinking a
time bound cut short, else null); speed's paths (a built-in row's own-path mode, issue 41:
{"own:<kernel>" | "own:standard" | "generic": examples}).
"""

import datetime
import json
import platform

from conformance.base.output_paths import write_atomic
from conformance.results import results as model
from conformance.results.areas import AREA_IDS, AREAS
from conformance.results.results import INCOMPLETE_EXIT_STATUS, LEGEND, example_configuration, exit_status, result  # noqa: F401 - the API

SCHEMA = "rnn-conformance-report"
SCHEMA_VERSION = 1


def build_report(backends, results, profile, errors=None, speed=None, known_files=()):
    """The report of one run: `backends` are Backend objects, `results` from `result()`,
    `errors` a {backend name: message} for workers that failed, `speed` a {backend name:
    {mode: {...}}} (what the run cost, per mode; see the schema). A backend's code is
    asked only where something ran on it (a layer row asks its worker)."""
    errors, speed = errors or {}, speed or {}
    entries = []
    for backend in backends:
        own = [r for r in results if r["backend"] == backend.name]
        reason = next((r["summary"] for r in own if r["outcome"] == "not-installed"), None)
        installed = backend.missing_package() is None
        code, version = _code_of(backend) if installed and _ran(own) else (None, None)
        entries.append(
            {
                "name": backend.name,
                "level": backend.level,
                "version": version,
                "code": code,
                "modes": list(backend.modes),
                "status": model.status_of(own, not installed, errors.get(backend.name)),
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
        "known_files": [str(path) for path in known_files],
        "backends": entries,
    }
    report["exit_status"] = exit_status(report)
    return report


def _code_of(backend):
    """(the code's versions as JSON, their text): a worker that cannot even import its
    package is said in the version, and the report is still written."""
    try:
        code = [found.as_json() for found in backend.code_versions()]
    except Exception as error:  # noqa: BLE001 - the run's results matter more than its versions
        return None, f"unknown ({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''})"
    return code, ", ".join(f"{c['module']} {c['version']}" for c in code) or "n/a"


def _ran(results):
    return any(r["outcome"] in model.RAN for r in results)


def merge_reports(reports, profile):
    """Several workers' reports as one (each worker tested different backends)."""
    merged = dict(reports[0]) if reports else build_report([], [], profile)
    merged["profile"] = profile
    merged["backends"] = [b for r in reports for b in r["backends"]]
    merged["known_files"] = list(dict.fromkeys(path for r in reports for path in r.get("known_files", ())))
    merged["interrupted"] = any(r.get("interrupted") for r in reports)
    merged["exit_status"] = exit_status(merged)
    return merged


def write_json(report, path):
    """`--report`: written whole or not at all (OutputError says which file was kept)."""
    write_atomic(path, json.dumps(model.view_of(report).report, indent=1) + "\n", "--report")


def write_markdown(report, path):
    """`--markdown`: the matrix as Markdown (`matrix_markdown`), for a CI job summary."""
    write_atomic(path, matrix_markdown(report), "--markdown")


# -- the matrix -------------------------------------------------------------------------


def code_lines(view):
    """What the matrix stands on: each package version that ran, from where (the rows that
    ran it, where one package ran in several versions), and every disagreement of the
    installed metadata with the code, in one line each."""
    ran = {}
    for b in view.backends:
        for c in b.get("code") or ():
            ran.setdefault((c["module"], c["version"], c["path"]), [c.get("disagreement"), []])[1].append(b["name"])
    several = {module for module, _, _ in ran if sum(m == module for m, _, _ in ran) > 1}
    lines = []
    for (module, version, path), (disagreement, rows) in ran.items():
        lines.append(f"  {module} {version} from {path}" + (f" ({', '.join(rows)})" if module in several else ""))
    disagreements = dict.fromkeys(d for d, _ in ran.values() if d)
    return (["code under test:", *lines] if lines else []) + [f"  NOTE {d}" for d in disagreements]


def matrix_text(report):
    """The code under test, then the matrix for a terminal, areas as short columns, a
    two-line legend under it."""
    view = model.view_of(report)
    rows = view.rows
    width = max([len(row.label) for row in rows] + [10])
    status = max([len(row.status) for row in rows] + [len("result")])
    columns = [max(len(area), 8) for area in AREA_IDS]
    header = code_lines(view)
    lines = header + [""] * bool(header)
    lines.append((" " * width + "  " + "result".ljust(status) + "  " + "  ".join(a.ljust(w) for a, w in zip(AREA_IDS, columns))).rstrip())
    for row in rows:
        values = "  ".join(row.cells[area].ljust(w) for area, w in zip(AREA_IDS, columns))
        lines.append(f"{row.label.ljust(width)}  {row.status.ljust(status)}  {values}".rstrip())
    return "\n".join(lines + ["", LEGEND[0], LEGEND[1] + model.AREAS_HINT] + coverage_lines(view))


def coverage_lines(view):
    """One line on what the samples contained (conformance/harness/covering.py): how many property
    runs had an example in every area they apply to, and what the top-up runs added."""
    tracked = [r for b in view.backends for r in b["results"] if r["outcome"] == "pass" and r.get("coverage")]
    if not tracked:
        return []
    complete = sum(not r["coverage"]["uncovered"] for r in tracked)
    runs = sum(r["coverage"].get("top_up_runs", 0) for r in tracked)
    reached = sum(len(r["coverage"]["topped_up"]) for r in tracked)
    return [f"coverage: {complete} of {len(tracked)} passing property runs had an example in every area they apply to; "
            f"top-up runs: {runs}, reaching {reached} area{'s' * (reached != 1)} the drawn samples missed"]


def matrix_markdown(report):
    """The matrix, its legend, the areas in full, each new divergence and the verdict."""
    view = model.view_of(report)
    rows = view.rows
    header = [line.strip() for line in code_lines(view)]
    lines = [header[0], "", *(f"- **NOTE** {model.markdown_cell(line[5:])}" if line.startswith("NOTE ") else f"- `{model.markdown_cell(line, code=True)}`"
                              for line in header[1:]), ""] if header else []
    lines += ["| backend [mode] | result | " + " | ".join(AREA_IDS) + " |", "|---|---|" + "---|" * len(AREA_IDS)]
    for row in rows:
        lines.append(f"| `{model.markdown_cell(row.label, code=True)}` | {row.status} | " + " | ".join(row.cells[area] for area in AREA_IDS) + " |")
    covered = coverage_lines(view)
    lines += ["", "; ".join(LEGEND) + ".", *(["", *covered] if covered else []), "", "Areas:", ""] + [f"- `{area}`: {text}" for area, text in AREAS]
    changed = ledger_lines(view)
    if changed:
        lines += ["", "Declared divergences whose case changed:", "", "```", *map(model.fenced, changed), "```"]
    details = divergences_text(view)
    if details:
        lines += ["", "New divergences:", "", "```", model.fenced(details), "```"]
    return "\n".join(lines + ["", model.markdown_cell(verdict_line(view))]) + "\n"


def divergences_text(report):
    """Under the matrix: each new divergence, its rule, minimal example, case and
    reproducer, and the entries it resembles; a backend that could not be called at all,
    once. (The declared ones whose case changed: `ledger_lines`.)"""
    view, lines, cannot_run = model.view_of(report), [], []
    for b in view.backends:
        if b["status"] == "error":
            lines.append(f"{b['name']}: ERROR: {b['reason']}")
            continue
        error = view.uncallable.get(b["name"])
        if error:
            count = sum(r["outcome"] == "crash" for r in b["results"])
            lines.append(f"{b['name']}: cannot call the implementation: {error} ({count} properties crashed so; the JSON report has each)")
            continue
        for r in b["results"]:
            if r["outcome"] not in model.NEW_PROBLEMS or r["outcome"] in model.LEDGER_CHANGES:
                continue
            word = model.CELL_OF_OUTCOME[r["outcome"]]
            into = cannot_run if r.get("cannot_run") else lines
            into.append(f"{b['name']} [{r['mode']}] {r['property']}: {word} [{r['rule'] or model.UNCLASSIFIED}] {r['summary']}")
            for entry in r.get("resembles") or ():
                widened = f"; `known update` widens its condition to: {entry['edit']['condition']}" if entry.get("edit") else ""
                into.append(f"  resembles {entry['entry']}: {entry['differs']}{widened}")
            for cause in r.get("declared_underneath") or ():
                into.append(f"  matches a root cause declared on the rnn this layer runs: {cause}")
            if r["example"]:
                into.append(f"  minimal example: {r['example']['repr']}")
            if r.get("not_minimal"):
                into.append(f"  ({r['not_minimal']})")
            for key in ("reproducer", "case"):
                if r.get(key):
                    into.append(f"  {key}: {r[key]}")
    if cannot_run:
        lines += ["Where your cell cannot run at all (it crashes on the plainest example, B=1, T=1, no mask, every "
                  "option at its default: an operation this row cannot run, yours or the backend's; the reproducer "
                  "shows which):", *cannot_run]
    return "\n".join(lines)


def proposes_edits(report):
    """Whether the run proposes edits to the known-divergence files (`known update`)."""
    return any(r.get("edit") or any(e.get("edit") for e in r.get("resembles") or ())
               for b in model.view_of(report).backends for r in b["results"])


def ledger_lines(report):
    """One line per declared divergence whose case agrees now (FIXED) or diverges
    otherwise (CHANGED) on the version under test, its modes together: what the replay
    found and the edit to make (conformance/properties/test_known_divergences.py wrote the text)."""
    found = {}
    for b in model.view_of(report).backends:
        for r in b["results"]:
            if r["outcome"] in model.LEDGER_CHANGES:
                key = (model.CELL_OF_OUTCOME[r["outcome"]], r["known_divergence"], b["name"])
                found.setdefault(key, [r["summary"], []])[1].append(r["mode"])
    lines = []
    for (word, entry, backend), (summary, modes) in sorted(found.items()):
        detail = summary.removeprefix(f"{word}: {entry}: ")
        lines.append(f"{word} {entry} on {backend} [{', '.join(modes)}]: {detail}")
    return lines


# -- the run's last lines ---------------------------------------------------------------


def summary_text(run_report):
    """What the run ends with on screen: the speed per backend x mode, the declared
    divergences that matched, and the one-line verdict last."""
    view = model.view_of(run_report)
    lines = speed_lines(view)
    lines += known_lines(view)
    return "\n".join(lines + [verdict_line(view)])


def known_lines(run_report):
    """One line per declared divergence and backend: the examples it excused in each mode,
    and whether its saved case reproduced (one line per mode made a default run's summary
    twice as long)."""
    grouped = {}
    for entry, backend, mode, excused, replayed in model.view_of(run_report).matched_known:
        modes, all_replayed = grouped.get((entry, backend), ([], True))
        grouped[entry, backend] = (modes + [f"{mode} {excused}"], all_replayed and replayed)
    if not grouped:
        return []
    lines = ["declared divergences met (examples excused per mode):"]
    for (entry, backend), (modes, replayed) in grouped.items():
        lines.append(f"  {entry} on {backend}: {', '.join(modes)} excused" + (", its case reproduced" if replayed else ""))
    return lines


def speed_lines(run_report):
    """One line per backend x mode: examples drawn and shrink steps (or examples run, from
    a worker that does not tell them apart), seconds, rate, the share of compiled calls
    that reused a trace, and how often shrinking was cut short."""
    lines = []
    for b in model.view_of(run_report).backends:
        for mode, cost in (b.get("speed") or {}).items():
            seconds = cost["seconds"] or 1e-9
            if cost.get("drawn") is not None:
                ran = f"{cost['drawn']} examples drawn + {cost.get('shrinking', 0)} shrink steps"
            else:
                ran = f"{cost['examples']} examples"
            line = f"  {b['name']} [{mode}]: {ran} in {cost['seconds']:.1f} s, {cost['examples'] / seconds:.1f} examples/s"
            calls = cost.get("traced", 0) + cost.get("reused", 0)
            if cost.get("compiled") and calls:
                line += f", {cost['reused'] / calls:.0%} of compiled calls reused a trace"
            grad_calls = cost.get("grad_traced", 0) + cost.get("grad_reused", 0)
            if cost.get("compiled") and grad_calls:
                line += f" ({cost['grad_reused'] / grad_calls:.0%} of value-and-grad calls)"
            if cost.get("shrink_cut_short"):
                line += f"; shrinking cut short {cost['shrink_cut_short']} times"
            lines.append(line + _paths_text(mode, cost.get("paths")))
    return lines


def _paths_text(mode, paths):
    """For a built-in row's mode (issue 41): the runs (examples, their siblings, replays)
    on each path, and on the own path how often the backend's kernel ran and how often it
    fell back to the generic loop (an own path that never reached its kernel tested the
    generic loop twice)."""
    if not paths:
        return ""
    kernels = {taken.removeprefix("own:"): n for taken, n in paths.items() if taken.startswith("own:") and taken != "own:fell-back"}
    ran, fell_back = sum(kernels.values()), paths.get("own:fell-back", 0)
    named = f": {', '.join(f'{name} {n}' for name, n in sorted(kernels.items()))}" if kernels else ""
    return (f"; own path in {ran + fell_back} runs (its kernel ran in {ran}{named}; the generic loop in {fell_back}), "
            f"the generic path in {paths.get('generic', 0)}")


def verdict_line(run_report):
    """One line: passed or failed, and why."""
    view = model.view_of(run_report)
    backends, parts = view.backends, []
    for b in backends:
        if b["name"] in view.uncallable:
            parts.append(f"{b['name']}: cannot call the implementation")
            continue
        new = [r for r in b["results"] if r["outcome"] in ("fail", "crash")]
        if new:
            crashes = sum(r["outcome"] == "crash" for r in new)
            resembling = sum(bool(r.get("resembles")) for r in new)
            cannot_run = sum(bool(r.get("cannot_run")) for r in new)
            parts.append(f"{b['name']}: {len(new)} new divergence{'s' * (len(new) != 1)}" + (f" ({crashes} CRASH)" if crashes else "")
                         + (f", {resembling} of them resembling a declared entry" if resembling else "")
                         + (f", {cannot_run} where your cell cannot run at all" if cannot_run else ""))
    if not parts and backends:
        parts.append("no new divergences")
    reproduced = {m[0] for m in view.matched_known}
    if reproduced:
        parts.append(f"{len(reproduced)} declared divergence{'s' * (len(reproduced) != 1)} reproduced")
    for outcome in model.LEDGER_CHANGES:
        entries = sorted({r["known_divergence"] for b in backends for r in b["results"] if r["outcome"] == outcome})
        if entries:
            parts.append(f"{model.CELL_OF_OUTCOME[outcome]}: {', '.join(entries)}")
    for status in ("not-installed", "error"):
        names = [b["name"] for b in backends if b["status"] == status]
        if names:
            parts.append(f"{status}: {', '.join(names)}")
    gaps = view.uncovered
    missed = [g for g in gaps if not g[4]]
    if missed:
        name, mode, prop, areas, _ = missed[0]
        parts.append(f"INCOMPLETE: {len(missed)} propert{'ies' if len(missed) != 1 else 'y'} left an area without an example "
                     f"({name} [{mode}] {prop.split('::')[1]}: {', '.join(areas)}" + (", ..." if len(missed) > 1 else "") + ")")
    if len(gaps) > len(missed):
        parts.append(f"{len(gaps) - len(missed)} ran fewer examples than their areas, as --max-examples asked (uncovered in the matrix)")
    if view.report.get("interrupted"):
        parts.append("interrupted")
    status = view.report["exit_status"]
    return f"rnn-conformance: {'PASSED' if status == 0 else 'FAILED'} (exit status {status}): " + "; ".join(parts)
