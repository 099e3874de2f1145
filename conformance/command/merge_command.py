"""`rnn-conformance merge A.json B.json ...`: the reports of several runs as one matrix.

Backends that cannot share an environment (Keras 2 on Theano, tf_keras, each Keras
release) are tested in several environments, machines or CI jobs, each writing its own
JSON report; this joins them into one report, one matrix and one verdict, as if one run
had tested them all. Each row (backend x mode) must come from one report: the same
backend, mode and version in two reports is an error. An entry without results (not
installed there) gives way to the report that has results for it; the same backend on
two versions is kept twice, its rows named with their version.

exit status: 0 every backend tested conforms; 1 a new divergence, crash, fixed declared
divergence or failed worker in some report; 2 bad input (a report missing, unreadable,
not JSON, of another schema or malformed; two reports of one row: one line on stderr);
3 nothing in any report was tested; 6 everything tested conforms, but some report left
an area uncovered (incomplete).
"""

import datetime
import json
import sys

from cells.case_fields import kind_of, short, short_path
from cells.input_files import InputFileError, read_text
from conformance.results import report
from conformance.results import results
from conformance.base.output_paths import OutputError, check_distinct, check_file
from conformance.base.usage import UsageError, usage_error

RESULT_KEYS = ("mode", "property", "rule", "areas", "outcome", "summary", "known_divergence", "example", "case")
MAX_REPORT_BYTES = 256 * 2**20  # a soak worker's report with every example's facts is a few MB
OUTCOMES = ("pass", "fail", "crash", "known", "known-fixed", "known-changed", "not-applicable", "not-installed")
STATUSES = ("conforms", "diverges", "incomplete", "not-installed", "error", "not run")
TEXT, LIST, OBJECT, NUMBER = (str,), (list,), (dict,), (int, float)
OR_NULL = (type(None),)
# The type of every field of a result the renderings read (absent fields are allowed: older reports).
RESULT_TYPES = {
    "mode": TEXT, "property": TEXT, "rule": TEXT + OR_NULL, "areas": LIST, "covers": LIST + OR_NULL,
    "outcome": TEXT, "summary": TEXT, "known_divergence": TEXT + OR_NULL, "example": OBJECT + OR_NULL,
    "case": TEXT + OR_NULL, "reproducer": TEXT + OR_NULL, "excused": (int,) + OR_NULL, "replay": (bool,) + OR_NULL,
    "resembles": LIST + OR_NULL, "declared_underneath": LIST + OR_NULL, "cannot_run": (bool,) + OR_NULL,
    "edit": OBJECT + OR_NULL, "known_file": TEXT + OR_NULL, "tested_version": TEXT + OR_NULL,
    "coverage": OBJECT + OR_NULL, "not_minimal": TEXT + OR_NULL,
}
ENTRY_TYPES = {"name": TEXT, "modes": LIST, "status": TEXT, "results": LIST, "version": TEXT + OR_NULL,
               "reason": TEXT + OR_NULL, "code": LIST + OR_NULL, "speed": OBJECT + OR_NULL, "level": TEXT + OR_NULL}


def main(args):
    try:
        check_distinct({"--report": args.report, "--markdown": args.markdown}, inputs={"merge": args.reports})
        for option in ("--report", "--markdown"):
            path = getattr(args, option[2:])
            if path is not None:
                check_file(option, path)
        merged = merge([(path, load(path)) for path in args.reports])
    except UsageError as error:
        return usage_error(error)
    unwritten = show_and_write(args, merged)
    return 1 if unwritten and merged["exit_status"] in (0, report.INCOMPLETE_EXIT_STATUS) else merged["exit_status"]


def show_and_write(args, merged):
    """What `rnn-conformance run` ends with (run_command.show_and_write, without importing
    the run's machinery): the matrix, the new divergences, the files, the summary."""
    view = results.ReportView(merged)  # every rendering below reads the same derived rows
    print()
    print(report.matrix_text(view))
    details = report.divergences_text(view)
    if details:
        print("\nNew divergences:\n" + details)
    unwritten = []
    for option, write in (("report", report.write_json), ("markdown", report.write_markdown)):
        if getattr(args, option):
            try:
                write(view, getattr(args, option))
                print(("\n" if option == "report" else "") + f"{option} written to {getattr(args, option)}")
            except OutputError as error:
                unwritten.append(option)
                print(f"rnn-conformance: error: {error}", file=sys.stderr, flush=True)
    print()
    print(report.summary_text(view), flush=True)
    return unwritten


def load(path):
    """The report in `path`, checked against the schema (UsageError naming the file)."""
    try:
        data = json.loads(read_text(path, "report", MAX_REPORT_BYTES))
    except InputFileError as error:
        raise UsageError(str(error)) from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{short_path(path)}: not JSON ({error})") from None
    except RecursionError:
        raise UsageError(f"{short_path(path)}: not a report: nested too deeply") from None
    problem = _malformed(data)
    if problem:
        raise UsageError(f"{short_path(path)}: not an rnn-conformance report: {problem}")
    return data


def _mistyped(d, types, where):
    """The first field of `d` whose value is not of its type, as a message; or None."""
    for key, allowed in types.items():
        if key in d and (not isinstance(d[key], allowed) or isinstance(d[key], bool) and bool not in allowed):
            return f"{where}.{key} is {kind_of(d[key])}, not {' or '.join(t.__name__ for t in allowed)}"
    return None


def _malformed(data):
    """What is wrong with the report's structure, or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if data.get("schema") != report.SCHEMA:
        return f"schema is {data.get('schema')!r}, not {report.SCHEMA!r}"
    if data.get("schema_version") != report.SCHEMA_VERSION or isinstance(data["schema_version"], bool):
        return f"schema_version is {data.get('schema_version')!r}; this version reads {report.SCHEMA_VERSION}"
    if not isinstance(data.get("backends"), list):
        return "backends is not a list"
    for n, entry in enumerate(data["backends"]):
        where = f"backends[{n}]"
        if not isinstance(entry, dict) or any(k not in entry for k in ("name", "modes", "status", "results")):
            return f"{where} is not an object with name, modes, status and results"
        problem = _mistyped(entry, ENTRY_TYPES, where)
        if problem:
            return problem
        if not all(isinstance(m, str) for m in entry["modes"]):
            return f"{where}: modes is not a list of strings"
        if entry["status"] not in STATUSES:
            return f"{where}: status {short(entry['status'])} is not one of {', '.join(STATUSES)}"
        for k, r in enumerate(entry["results"]):
            if not isinstance(r, dict) or any(key not in r for key in RESULT_KEYS):
                return f"{where}: a result is not an object with {', '.join(RESULT_KEYS)}"
            problem = _mistyped(r, RESULT_TYPES, f"{where}.results[{k}]")
            if problem:
                return problem
            if r["outcome"] not in OUTCOMES:
                return f"{where}.results[{k}]: outcome {short(r['outcome'])} is not one of {', '.join(OUTCOMES)}"
            if not all(isinstance(a, str) for a in r["areas"]):
                return f"{where}.results[{k}]: areas is not a list of strings"
            problem = _nested(r, f"{where}.results[{k}]")
            if problem:
                return problem
        if not all(isinstance(c, dict) and all(isinstance(c.get(key), str) for key in ("module", "version", "path"))
                   for c in entry.get("code") or ()):
            return f"{where}: code is not a list of {{module, version, path}} objects"
        speed = entry.get("speed") or {}
        if not isinstance(speed, dict) or not all(isinstance(c, dict) and "seconds" in c and "examples" in c for c in speed.values()):
            return f"{where}: speed is not an object of {{mode: {{examples, seconds, ...}}}}"
        if not all(isinstance(v, NUMBER) and (k == "compiled") == isinstance(v, bool) for c in speed.values() for k, v in c.items()
                   if v is not None):
            return f"{where}: speed holds a count or time that is not a number"
    return None


def _nested(r, where):
    """What is wrong inside a result's objects the renderings read, or None."""
    if r["example"] is not None and not isinstance(r["example"].get("repr"), str):
        return f"{where}.example has no repr string"
    for entry in r.get("resembles") or ():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("entry", "differs")):
            return f"{where}.resembles is not a list of {{entry, differs}} objects"
        if entry.get("edit") is not None and not isinstance((entry["edit"] or {}).get("condition"), str):
            return f"{where}.resembles: an edit without a condition string"
    if not all(isinstance(line, str) for line in r.get("declared_underneath") or ()):
        return f"{where}.declared_underneath is not a list of strings"
    coverage = r.get("coverage")
    if coverage is not None:
        lists = ("needed", "covered", "topped_up", "uncovered")
        if not all(isinstance(coverage.get(key), list) for key in lists) or type(coverage.get("top_up_runs", 0)) is not int:
            return f"{where}.coverage is not {{needed, covered, topped_up, uncovered: lists, top_up_runs: a number}}"
    return None


def covered_modes(entry):
    """The modes an entry reports on: those of its results and of its speed."""
    modes = [r["mode"] for r in entry["results"]] + list(entry.get("speed") or {})
    return list(dict.fromkeys(modes))


def merge(loaded):
    """One report of [(path, report)]: entries in the order of the files (see the module)."""
    kept, owner = [], {}  # [(path, entry)]; (name, version, mode) -> the path reporting it
    tested = {e["name"] for _, data in loaded for e in data["backends"] if covered_modes(e)}
    for path, data in loaded:
        for entry in data["backends"]:
            modes = covered_modes(entry)
            if not modes and entry["status"] != "error":  # nothing ran here: shown only if no report tested it
                if entry["name"] not in tested and all(e["name"] != entry["name"] for _, e in kept):
                    kept.append((path, entry))
                continue
            for mode in modes:
                key = (entry["name"], entry.get("version"), mode)
                if key in owner:
                    raise UsageError(f"{entry['name']} [{mode}] ({entry.get('version')}) is reported by both "
                                     f"{owner[key]} and {path}; merge each row from one report")
                owner[key] = path
            kept.append((path, entry))
    return _report(loaded, _named(kept))


def _named(kept):
    """The entries, each a copy; a backend kept on several versions has its version in its
    name, and one split over several reports shows only the modes each covers."""
    entries = []
    for path, entry in kept:
        twins = [e for _, e in kept if e["name"] == entry["name"]]
        copy = {**entry, "reason": entry.get("reason")}
        if len({e.get("version") for e in twins}) > 1:
            copy["name"] = f"{entry['name']} ({entry.get('version')})"
        if len(twins) > 1:
            copy["modes"] = covered_modes(entry)
        entries.append(copy)
    return entries


def _agreed(reports, key, otherwise):
    values = {json.dumps(r.get(key)) for r in reports}
    return reports[0].get(key) if len(values) == 1 else otherwise


def _report(loaded, entries):
    reports = [data for _, data in loaded]
    merged = {
        "schema": report.SCHEMA,
        "schema_version": report.SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": _agreed(reports, "profile", "mixed"),
        "max_examples": _agreed(reports, "max_examples", None),
        "python": _agreed(reports, "python", "mixed"),
        "platform": _agreed(reports, "platform", "mixed"),
        "merged_from": [path for path, _ in loaded],
        "interrupted": any(r.get("interrupted") for r in reports),
        "backends": entries,
    }
    merged["exit_status"] = report.exit_status(merged)
    return merged
