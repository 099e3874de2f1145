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
import os

from conformance.results import report
from conformance.results import results
from conformance.base.output_paths import check_distinct, check_file
from conformance.base.usage import UsageError, usage_error

RESULT_KEYS = ("mode", "property", "rule", "areas", "outcome", "summary", "known_divergence", "example", "case")


def main(args):
    try:
        check_distinct({"--report": args.report, "--markdown": args.markdown})
        for option in ("--report", "--markdown"):
            path = getattr(args, option[2:])
            if path is not None:
                check_file(option, path)
                if os.path.realpath(path) in {os.path.realpath(p) for p in args.reports}:
                    raise UsageError(f"{option} {path}: is one of the reports to merge")
        merged = merge([(path, load(path)) for path in args.reports])
    except UsageError as error:
        return usage_error(error)
    show_and_write(args, merged)
    return merged["exit_status"]


def show_and_write(args, merged):
    """What `rnn-conformance run` ends with (run_command.show_and_write, without importing
    the run's machinery): the matrix, the new divergences, the files, the summary."""
    view = results.ReportView(merged)  # every rendering below reads the same derived rows
    print()
    print(report.matrix_text(view))
    details = report.divergences_text(view)
    if details:
        print("\nNew divergences:\n" + details)
    for option, write in (("report", report.write_json), ("markdown", report.write_markdown)):
        if getattr(args, option):
            write(view, getattr(args, option))
            print(("\n" if option == "report" else "") + f"{option} written to {getattr(args, option)}")
    print()
    print(report.summary_text(view), flush=True)


def load(path):
    """The report in `path`, checked against the schema (UsageError naming the file)."""
    try:
        with open(path, encoding="utf-8") as source:
            data = json.load(source)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a report") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot be read: {error}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: not JSON ({error})") from None
    problem = _malformed(data)
    if problem:
        raise UsageError(f"{path}: not an rnn-conformance report: {problem}")
    return data


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
        if not isinstance(entry["name"], str) or not isinstance(entry["status"], str):
            return f"{where}: name and status must be strings"
        if not isinstance(entry["modes"], list) or not all(isinstance(m, str) for m in entry["modes"]):
            return f"{where}: modes is not a list of strings"
        if not isinstance(entry["results"], list):
            return f"{where}: results is not a list"
        for r in entry["results"]:
            if not isinstance(r, dict) or any(k not in r for k in RESULT_KEYS) or not isinstance(r["mode"], str):
                return f"{where}: a result is not an object with {', '.join(RESULT_KEYS)}"
        speed = entry.get("speed") or {}
        if not isinstance(speed, dict) or not all(isinstance(c, dict) and "seconds" in c and "examples" in c for c in speed.values()):
            return f"{where}: speed is not an object of {{mode: {{examples, seconds, ...}}}}"
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
            if not modes:  # nothing ran here: shown only if no report tested it
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
