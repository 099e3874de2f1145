"""The results model: what each property outcome means, decided in one place.

The plugin records each outcome as a result (`result()`: a plain dict, so the reports of
several worker processes merge by concatenation). Everything a run prints or writes is
derived from these dicts here, and a report's renderings read it through one `ReportView`: the status of a backend and of each backend x mode row,
the word of each matrix cell, the new divergences, the declared ones that matched, and
the exit status. conformance/results/report.py (terminal, JSON, --markdown) and
conformance/results/matrix.py (the rows table of --matrix, docs/reports.md) only render this model.

One vocabulary everywhere. Cells: ok, known, DIVERGES, CRASH, FIXED, CHANGED, uncovered,
partial, n/i, ERROR, -. Rows and backends: conforms, diverges, incomplete, not-installed,
error, not run.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import cached_property

from conformance.results.areas import AREA_IDS, UNCLASSIFIED, area_of_rule, areas_covered
from conformance.known.facts import json_facts

LEDGER_CHANGES = ("known-fixed", "known-changed")  # a declared divergence's case agrees now, or diverges otherwise
NEW_PROBLEMS = ("fail", "crash", *LEDGER_CHANGES)  # what makes a run exit 1
RAN = ("pass", "fail", "crash", "known", *LEDGER_CHANGES)  # outcomes of a property that ran

OK, KNOWN, DIVERGES, CRASH, FIXED, CHANGED, UNCOVERED, PARTIAL, NOT_INSTALLED, ERROR, NOTHING = (
    "ok", "known", "DIVERGES", "CRASH", "FIXED", "CHANGED", "uncovered", "partial", "n/i", "ERROR", "-",
)
# The run conforms where it looked, but left an applicable area unlooked at. Not 4 or 5:
# pytest's own (a usage error, no test collected), which a worker run of pytest may end with.
INCOMPLETE_EXIT_STATUS = 6
CELL_OF_OUTCOME = {"pass": OK, "fail": DIVERGES, "crash": CRASH, "known": KNOWN, "known-fixed": FIXED, "known-changed": CHANGED}
WORST_FIRST = (ERROR, NOT_INSTALLED, CRASH, DIVERGES, CHANGED, FIXED, UNCOVERED, KNOWN, OK, PARTIAL, NOTHING)
LEGEND = (
    "ok: no divergence; known: a declared divergence, reproduced; DIVERGES, CRASH: new; FIXED: declared, its case agrees now; "
    "CHANGED: declared, its case diverges otherwise now",
    "uncovered: a property passed without one example in this area (conformance/judge/coverage.py); "
    "partial: no divergence before its property stopped at one elsewhere; n/i: not installed; -: nothing ran",
)
AREAS_HINT = " (areas in full: --markdown)"


def example_configuration(example):
    """The minimal example's configuration: readable, JSON-able, without its data."""
    if example is None:
        return None
    configuration = {
        "repr": repr(example),
        "options": asdict(example.options),
        "mask": None if example.mask is None else example.mask.astype(int).tolist(),
        "facts": json_facts(example),
    }
    layer = getattr(example, "layer", None)
    if layer is not None:
        configuration["layer"] = asdict(layer)
    return configuration


def result(target, property_id, outcome, rule=None, summary="", example=None, known_divergence=None, case=None,
           reproducer=None, excused=None, replay=False, resembles=None,
           declared_underneath=None, cannot_run=False, edit=None, known_file=None, tested_version=None, coverage=None,
           not_minimal=None):
    """One outcome of one property on one target. `covers`: the areas the property ran
    in; `areas`: where the result is shown (a pass: where it ran; a divergence: its
    rule's area). A failure without a rule is "unclassified". `excused`: for a declared
    divergence met while the property ran, how many examples it excused; `replay`: the
    result of re-running a declared divergence's saved case; `resembles`: for a new
    divergence, the entries it matches in backend, mode and how it shows but not in
    condition or version range (known.KnownDivergence.resemblance: what differs, and the
    widened condition where only that differs);
    `declared_underneath`: for a new layer divergence, the entries of the function row
    underneath (known.function_row_of) whose root cause it matches, as "id (on row): reason";
    `cannot_run`: a user's cell crashed on the plainest example (cells/user_cell.py);
    for a replay that is FIXED or CHANGED, `edit` (the entry's fields to write,
    conformance/command/known_update.py), `known_file` (the file that declares the entry) and
    `tested_version` (the package's version the replay ran on). `coverage`, for a property
    that passed: the areas its sample had to contain (`needed`), those it did (`covered`),
    those only a top-up run reached (`topped_up`, in `top_up_runs` runs of one example
    each, unless it failed and shrank), those none did (`uncovered`), and
    `asked_fewer` where --max-examples asked for fewer examples than areas
    (conformance/harness/covering.py)."""
    ran = outcome in RAN and not replay
    backend = target.backend
    covers = list(areas_covered(property_id, backend.unsupported_options, getattr(backend, "unreachable_areas", ()))) if ran else []
    if outcome in ("fail", "crash") and not rule:
        rule = UNCLASSIFIED
    areas = covers if outcome == "pass" else [area_of_rule(rule, example)] if outcome in RAN else []
    return {
        "backend": target.backend.name,
        "mode": target.mode,
        "property": property_id,
        "rule": rule,
        "covers": covers,
        "areas": areas,
        "outcome": outcome,
        "summary": summary,
        "known_divergence": known_divergence,
        "excused": excused,
        "replay": replay,
        "example": example_configuration(example),
        "case": None if case is None else str(case),
        "reproducer": None if reproducer is None else str(reproducer),
        "resembles": resembles,
        "declared_underneath": declared_underneath,
        "cannot_run": cannot_run,
        "edit": edit,
        "known_file": None if known_file is None else str(known_file),
        "tested_version": tested_version,
        "coverage": coverage,
        "not_minimal": not_minimal,
    }


def status_of(results, not_installed=False, error=None):
    """conforms | diverges | incomplete | not-installed | error | not run, of a backend or
    one row: incomplete where everything passed but a property left an area uncovered."""
    if error:
        return "error"
    if any(r["outcome"] in NEW_PROBLEMS + ("known",) for r in results):
        return "diverges"
    if any(incomplete(r) for r in results):
        return "incomplete"
    if any(r["outcome"] == "pass" for r in results):
        return "conforms"
    return "not-installed" if not_installed or any(r["outcome"] == "not-installed" for r in results) else "not run"


def exit_status(report):
    """0 all tested conforms (declared divergences reproduced as declared); 1 anything new,
    a crash, a fixed declared divergence, a failed worker or an interrupted run; 3 nothing could be tested;
    6 (incomplete) everything tested conforms, but a property left an applicable area
    without an example (conformance/harness/covering.py)."""
    backends = report["backends"]
    if any(b["status"] == "error" for b in backends) or report.get("interrupted"):
        return 1  # (an interrupted run passed nothing: what it did not reach was not tested)
    if any(r["outcome"] in NEW_PROBLEMS for b in backends for r in b["results"]):
        return 1
    if not any(r["outcome"] in ("pass", "known") for b in backends for r in b["results"]):
        return 3
    if any(incomplete(r) for b in backends for r in b["results"]):
        return INCOMPLETE_EXIT_STATUS
    return 0


def incomplete(result):
    """A property that passed with an applicable area uncovered, which the user did not
    ask for (--max-examples under its number of areas)."""
    covered = result.get("coverage") or {}
    return result["outcome"] == "pass" and bool(covered.get("uncovered")) and not covered.get("asked_fewer")


def uncovered(report):
    """[(backend, mode, property, areas, asked_fewer)] of every property that passed with
    areas uncovered."""
    return [(b["name"], r["mode"], r["property"], r["coverage"]["uncovered"], bool(r["coverage"].get("asked_fewer")))
            for b in report["backends"] for r in b["results"]
            if r["outcome"] == "pass" and (r.get("coverage") or {}).get("uncovered")]


def worst(words):
    return min(words, key=WORST_FIRST.index, default=NOTHING)


def cells(results):
    """{area: word} of one row: each area's worst result; an area a failed property ran
    in without a divergence of its own is `partial` unless a property passed there; an
    area a passing property had no example in is `uncovered`."""
    found = defaultdict(list)
    for r in results:
        if r["outcome"] in CELL_OF_OUTCOME:
            for area in r["areas"]:
                found[area].append(CELL_OF_OUTCOME[r["outcome"]])
        if r["outcome"] in ("fail", "crash"):
            for area in r.get("covers", ()):
                found[area].append(PARTIAL)
        if r["outcome"] == "pass":
            for area in (r.get("coverage") or {}).get("uncovered", ()):
                found[area].append(UNCOVERED)
    return {area: worst(found[area]) for area in AREA_IDS}


@dataclass
class Row:
    """One backend x mode of the matrix."""

    backend: str
    mode: str
    version: object
    status: str
    cells: dict
    passed: int = 0
    not_applicable: int = 0
    known: dict = field(default_factory=dict)  # entry id -> its saved case
    known_rules: list = field(default_factory=list)  # the declared rules of those entries
    new: list = field(default_factory=list)  # results: fail, crash, known-fixed, known-changed

    @property
    def label(self):
        return f"{self.backend} [{self.mode}]"


def rows(report):
    """The matrix: one Row per backend x mode, in the report's order."""
    table = []
    for backend in report["backends"]:
        for mode in backend["modes"]:
            own = [r for r in backend["results"] if r["mode"] == mode]
            if backend["status"] in ("not-installed", "error"):
                word = NOT_INSTALLED if backend["status"] == "not-installed" else ERROR
                table.append(Row(backend["name"], mode, backend.get("version"), backend["status"], dict.fromkeys(AREA_IDS, word)))
                continue
            table.append(Row(
                backend["name"], mode, backend.get("version"), status_of(own), cells(own),
                passed=sum(r["outcome"] == "pass" and not r.get("replay") for r in own),
                not_applicable=sum(r["outcome"] == "not-applicable" and not r.get("replay") for r in own),
                known={r["known_divergence"]: r["case"] for r in sorted(own, key=_entry) if r["outcome"] == "known"},
                known_rules=sorted({r["rule"] for r in own if r["outcome"] == "known"}),
                new=[r for r in own if r["outcome"] in NEW_PROBLEMS],
            ))
    return table


def _entry(r):
    return r["known_divergence"] or ""


def uncallable(backend):
    """The error, when every property that ran on this backend crashed at once the same
    way (an --impl with a wrong signature, say): one finding, not one per property."""
    ran = [r for r in backend["results"] if r["outcome"] in RAN]
    errors = {r["summary"] for r in ran}
    if len(ran) > 1 and len(errors) == 1 and all(r["outcome"] == "crash" for r in ran):
        return errors.pop().removeprefix("CRASH: ")
    return None


def matched_known(report):
    """The declared divergences this run met: [(entry id, backend, mode, examples excused,
    whether its saved case reproduced)], one per entry and target."""
    matched = {}
    for b in report["backends"]:
        for r in b["results"]:
            if r["outcome"] == "known":
                key = (r["known_divergence"], b["name"], r["mode"])
                excused, replayed = matched.get(key, (0, False))
                matched[key] = (excused + (r.get("excused") or 0), replayed or bool(r.get("replay")))
    return [(*key, excused, replayed) for key, (excused, replayed) in sorted(matched.items())]


def markdown_cell(text, code=False):
    """Text of a report (a backend's name, a mode, a version, a path: a merged report's are
    anyone's) that stays inside its Markdown table cell or code span: one line, pipes
    escaped, no backtick, and outside a code span no HTML."""
    text = " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")
    return text if code else text.replace("<", "&lt;").replace(">", "&gt;")


def fenced(text):
    """Text for a fenced block that cannot close it early (a run of three backticks becomes quotes)."""
    return str(text).replace("`" * 3, "'" * 3)


class ReportView:
    """A report as its renderings read it (the terminal, Markdown, JSON, --matrix, merge):
    the rows, the backends that could not be called and the declared entries met, each
    derived once from the report's results, however many renderings read them."""

    def __init__(self, report):
        self.report = report
        self.backends = report["backends"]

    @cached_property
    def rows(self):
        return rows(self.report)

    @cached_property
    def uncallable(self):
        """{backend name: error} of the backends no property could call (`uncallable`)."""
        return {b["name"]: error for b in self.backends if (error := uncallable(b))}

    @cached_property
    def matched_known(self):
        return matched_known(self.report)

    @cached_property
    def uncovered(self):
        return uncovered(self.report)


def view_of(report):
    """The ReportView of a report dict (a view is its own)."""
    return report if isinstance(report, ReportView) else ReportView(report)

