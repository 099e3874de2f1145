"""Declared known divergences: data, consulted only when a property fails.

Each entry of `known_divergences.toml` says: this backend (in this version range and
these modes) breaks this rule whenever this condition holds over the drawn example. A
property failure that matches an entry is excused and counted; everything outside the
condition stays tested. Each entry also names the minimal example the suite produced
(a JSON file beside the data); `test_known_divergences.py` re-runs it, so an entry that
no longer reproduces (a bug fixed upstream) or never did fails the run.

Versions (CONTRACT.md section 6): the version tested against `versions` is the one the
imported module states (conformance/base/code_versions.py), pre-releases, development builds
and nightlies included. A range without an upper bound is a divergence still present in
the newest release it was replayed on, presumed present in every later version until its
case's replay shows otherwise (FIXED, CHANGED: conformance/properties/test_known_divergences.py).
"""

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cells.case_fields import short, short_path
from cells.case_schema import CaseError, read_case
from cells.input_files import InputFileError, read_text
from cells.serialize import example_from_dict
from conformance.known import known_conditions
from conformance.known.entry_schema import KnownDivergenceError, check_entry  # noqa: F401 (KnownDivergenceError: its name here too)
from conformance.known.facts import as_json, example_facts
from conformance.known.known_cells import KNOWN_CELL_MODULES, is_known_cell

DEFAULT_FILE = Path(__file__).with_name("known_divergences.toml")
REQUIRED = ("id", "backend", "package", "versions", "modes", "condition", "rule", "property", "reason", "example")
OPTIONAL = ("shows_as", "attempts", "tensorflow_threads")
MAX_ATTEMPTS = 200
MAX_THREADS = 256
_SHOWS_AS = re.compile(r"^(any|crash|crash: .+|[RGL]\d+)$")


MAX_KNOWN_FILE_BYTES = 4 * 2**20  # the shipped file is ~100 KB


@dataclass(frozen=True)
class KnownDivergence:
    id: str
    backend: str
    package: str  # whose version `versions` constrains, e.g. "keras"
    versions: str  # PEP 440 specifier, e.g. ">=3.0"
    modes: tuple
    condition: str  # an expression over conformance.known.facts names
    rule: str
    property: str  # "module::function" of the property that finds it
    reason: str
    example: Path  # the minimal example the suite produced (JSON)
    # How its failures surface, when not just as `rule`: rule ids ("R5"), "crash: <text the
    # exception message contains>", "crash" (any crash) or "any". One root cause often shows
    # several ways (a crash for some shapes, wrong values for others; another rule in a
    # metamorphic property); the condition keeps it to the region where the cause holds.
    shows_as: tuple = ()
    # How many times the replay runs the case, each after the first on freshly compiled
    # functions, before it calls the entry stale: 1, except for a divergence that shows
    # only sometimes (a race inside the framework), whose reason gives the measured rate.
    attempts: int = 1
    # For a race that shows more often with more threads: the replay's attempts run in a
    # worker of their own whose TensorFlow has this many inter- and intra-op threads (the
    # reason gives the rates measured with and without); 0: the suite's usual worker.
    tensorflow_threads: int = 0
    _code: object = field(default=None, compare=False, repr=False)
    source: Path = field(default=None, compare=False)  # the known file that declares it (known update edits it)

    def code_version(self, target):
        """What `package` says of itself where the target runs (code_versions.CodeVersion),
        when the target is this entry's backend in one of its modes; else None."""
        if target.backend.name != self.backend or target.mode not in self.modes:
            return None
        return target.backend.code_version(self.package)

    def in_range(self, version):
        """Whether `versions` holds this version, pre-releases and development builds included."""
        return in_range(self.versions, version)

    def applies_to(self, target):
        found = self.code_version(target)
        return found is not None and self.in_range(found.version)

    def resemblance(self, target, divergence):
        """For a new divergence of this entry's backend and mode that shows as declared
        (an "any" entry shows as everything: it resembles nothing), but outside either its
        version range or its condition, not both: {"entry", "differs": what differs,
        "facts": those of the closest diverging run, "edit": the widened condition where
        only the condition differs (conformance/command/known_update.py), "known_file"}; else None."""
        found = self.code_version(target)
        if found is None or "any" in self.shows_as or not self.describes(divergence):
            return None  # ("any" garbles the whole computation: it says nothing of one failure)
        differs = [] if self.in_range(found.version) else [f"{found.text()} is outside its range {self.versions}"]
        runs = [(known_conditions.false_parts(self.condition, facts), facts) for facts in map(example_facts, divergence.runs)]
        false, facts = min(runs, key=lambda run: len(run[0]), default=([], None))  # the closest run
        if false:
            differs.append(f"its condition is false here: {'; '.join(false)}")
        if len(differs) != 1:
            return None  # the same, or unlike it in both its range and its condition: not a resemblance
        widened = known_conditions.widened(self.condition, facts) if false else None
        return {"entry": self.id, "differs": ", ".join(differs), "facts": None if facts is None else as_json(facts),
                "edit": {"condition": widened} if widened else None, "known_file": str(self.source)}

    def declared_underneath(self, target, divergence):
        """The same root cause declared on the function row whose `rnn` this layer row
        runs (a layer is that function run with the cell's `call`, contract section 2), or
        for a built-in row on its layer row too (rows_underneath):
        named, not excused, for a layer failure (a user's cell, --cell, reaches shapes the
        suite's own layer cells never have) until the layer row has an entry of its own,
        with a minimal example of its own."""
        if self.backend not in rows_underneath(target.backend.name):
            return False
        found = target.backend.code_version(self.package)
        return found is not None and self.in_range(found.version) and self.matches(divergence)

    def holds_for_any_run(self, divergence):
        """The condition holds for one of the compared runs (the one that broke the rule)."""
        return any(self.holds_for(example) for example in divergence.runs)

    def holds_for(self, example):
        return known_conditions.holds(self._code, example_facts(example))

    def describes(self, divergence):
        """The failure surfaces as declared: the rule, or a crash with the declared text."""
        return any(_surfaces_as(item, divergence) for item in self.shows_as or (self.rule,))

    def matches(self, divergence):
        """Surfaces as declared, in a run the condition holds for (whatever the target)."""
        return self.describes(divergence) and self.holds_for_any_run(divergence)

    def excuses(self, target, divergence):
        """Declared for the target, or for the other target a relation compared it with
        (G4: a compiled mode against eager, where eager's declared bug makes them differ)."""
        targets = dict.fromkeys([target, *getattr(divergence, "targets", ())])
        return any(self.applies_to(t) for t in targets) and self.matches(divergence)


class Ledger:
    """The loaded entries and what they excused during this run."""

    def __init__(self, entries=()):
        self.entries = list(entries)
        self.excused = Counter()  # (entry id, target id, property id) -> failing examples it excused
        # (entry, target, property id) -> the first divergence it excused there (reports)
        self.first_excused = {}

    def excuse(self, target, divergence, property_id=None):
        """The entry that excuses this divergence (and count it), or None."""
        for entry in self.entries:
            if divergence.example is not None and entry.excuses(target, divergence):
                self.excused[entry.id, target.id, property_id] += 1
                self.first_excused.setdefault((entry, target, property_id), divergence)
                return entry
        resembles = [found for e in self.entries if divergence.example is not None and (found := e.resemblance(target, divergence))]
        if resembles:
            divergence.resembles = resembles
        underneath = [e for e in self.entries if divergence.example is not None and e.declared_underneath(target, divergence)]
        if underneath:  # every candidate: a crash text and a condition can fit more than one cause
            divergence.declared_underneath = [f"{e.id} (on {e.backend}): {e.reason}" for e in underneath]
        return None


def function_row_of(backend_name):
    """The function row whose `rnn` a layer row runs (layer-keras-jax: keras-jax), or None."""
    return backend_name.removeprefix("layer-") if backend_name.startswith("layer-") else None


def rows_underneath(backend_name):
    """The rows whose code a row runs beneath its own: a layer row's function row; a
    built-in row's (issue 41: `LSTM` is an `RNN` layer) layer row and function row."""
    if backend_name.startswith("builtin-"):
        layer_row = "layer-" + backend_name.removeprefix("builtin-")
        return (layer_row, function_row_of(layer_row))
    return (function_row_of(backend_name),)


def load(path=DEFAULT_FILE, vocabulary=None):
    """Read and validate the file (each entry by conformance/known/entry_schema.py, its names
    against `vocabulary` when given); any problem is one KnownDivergenceError line."""
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path, "known divergences", MAX_KNOWN_FILE_BYTES))
    except InputFileError as error:
        raise KnownDivergenceError(f"cannot read {error}") from None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as error:
        raise KnownDivergenceError(f"cannot read known divergences {short_path(path)}: {short(str(error))}") from None
    tables = data.get("divergence", [])
    if not isinstance(tables, list) or not all(isinstance(raw, dict) for raw in tables):
        raise KnownDivergenceError(f"{short_path(path)}: divergence must be an array of tables ([[divergence]])")
    entries, seen = [], set()
    for raw in tables:
        missing = [key for key in REQUIRED if key not in raw]
        unknown = [key for key in raw if key not in REQUIRED + OPTIONAL]
        name = raw.get("id", "<no id>") if isinstance(raw.get("id", ""), str) else "<id not a string>"
        if missing:
            raise KnownDivergenceError(f"{path}: entry {short(name)} lacks {', '.join(missing)}")
        if unknown:
            raise KnownDivergenceError(f"{path}: entry {short(name)} has unknown keys {', '.join(str(k)[:40] for k in unknown)}")
        check_entry(raw, f"{path}: entry {short(name)}", vocabulary)
        if name in seen:
            raise KnownDivergenceError(f"{path}: duplicate entry id {name!r}")
        seen.add(name)
        try:
            SpecifierSet(raw["versions"])
        except InvalidSpecifier:
            raise KnownDivergenceError(f"{path}: entry {name!r} has an invalid version range {short(raw['versions'])}") from None
        entries.append(
            KnownDivergence(
                id=name,
                backend=raw["backend"],
                package=raw["package"],
                versions=raw["versions"],
                modes=tuple(raw["modes"]),
                condition=raw["condition"],
                rule=raw["rule"],
                property=raw["property"],
                reason=raw["reason"],
                shows_as=_shows_as(raw.get("shows_as", []), f"{path}: entry {name!r}"),
                attempts=_attempts(raw.get("attempts", 1), f"{path}: entry {name!r}"),
                tensorflow_threads=_threads(raw.get("tensorflow_threads", 0), raw.get("attempts", 1), f"{path}: entry {name!r}"),
                _code=_compile_condition(raw["condition"], f"{path}: entry {name!r}"),
                source=path,
                example=_case_file(path, name, raw["example"]),  # last: the entry's own fields first
            )
        )
        _check_evaluates(entries[-1], f"{path}: entry {name!r}")
    return entries


def _check_evaluates(entry, where):
    """The condition evaluates on the facts of the entry's own case: one that cannot
    (`"a" < masked`) would otherwise fail during the run as if the backend had diverged."""
    try:
        entry.holds_for(example_from_dict(read_case(entry.example)["example"]))
    except Exception as error:  # noqa: BLE001 - any failure to evaluate is the file's
        raise KnownDivergenceError(f"{where}: its condition cannot be evaluated on its own case: "
                                   f"{type(error).__name__}: {short(str(error))}") from None


def _case_file(path, name, example):
    """The entry's case file, checked now (cells/case_schema.py), so a missing or invalid
    one is a one-line error naming the entry instead of a failure during collection."""
    if not isinstance(example, str):
        raise KnownDivergenceError(f"{path}: entry {name!r}: example must be the path of a case file")
    case = path.parent / example
    try:
        _check_known_cell(read_case(case)["example"])
    except CaseError as error:
        raise KnownDivergenceError(f"{path}: entry {name!r}: cannot read its case {case}: {error}") from None
    return case


def _check_known_cell(example):
    """A user-cell case (--cell) names one of the suite's own cells (conformance/known/known_cells),
    imported from the suite, not from the directory it was found in: replaying it runs
    only the suite's code."""
    cell = example["structure"].get("user_cell")
    if cell is None:
        return
    if not is_known_cell(cell["target"]):
        raise CaseError(f"its cell {cell['target']!r} is not one of the suite's ({', '.join(KNOWN_CELL_MODULES)}): "
                        "a declared divergence's case never imports other code")
    if cell["search_path"]:
        raise CaseError(f"its cell's search_path is {cell['search_path'][:80]!r}: a declared divergence's cell is imported from the suite, so it is empty")


def _surfaces_as(item, divergence):
    if item == "any":
        return True
    if item == "crash":
        return divergence.crash is not None
    if item.startswith("crash: "):
        return divergence.crash is not None and item[len("crash: "):] in divergence.crash
    return divergence.crash is None and divergence.rule == item


def _attempts(value, where):
    if type(value) is not int or not 1 <= value <= MAX_ATTEMPTS:
        raise KnownDivergenceError(f"{where}: attempts must be a whole number from 1 to {MAX_ATTEMPTS}, not {value!r}")
    return value


def _threads(value, attempts, where):
    if type(value) is not int or not 0 <= value <= MAX_THREADS:
        raise KnownDivergenceError(f"{where}: tensorflow_threads must be a whole number from 1 to {MAX_THREADS}, not {value!r}")
    if value and attempts == 1:
        raise KnownDivergenceError(f"{where}: tensorflow_threads is for a race (attempts > 1): one attempt needs no more threads")
    return value


def _shows_as(items, where):
    if not isinstance(items, list) or not all(isinstance(i, str) and _SHOWS_AS.match(i) for i in items):
        raise KnownDivergenceError(f'{where}: shows_as must be a list of rule ids, "crash: <text>", "crash" or "any"')
    return tuple(items)


def _compile_condition(text, where):
    try:
        return known_conditions.compiled(text)
    except known_conditions.ConditionError as error:
        raise KnownDivergenceError(f"{where}: {error}") from None
    except (RecursionError, MemoryError):
        raise KnownDivergenceError(f"{where}: condition is nested too deeply to read") from None


def load_layers(paths, vocabulary=None):
    """The entries of several files, each layered on the ones before (the shipped file
    first, then a project's own: `--extra-known`); an id declared in two is an error."""
    entries, where = [], {}
    for path in paths:
        for entry in load(path, vocabulary):
            if entry.id in where:
                raise KnownDivergenceError(f"{path}: entry {entry.id!r} is declared in {where[entry.id]} already; "
                                           "a layered file adds entries under ids of its own")
            where[entry.id] = path
            entries.append(entry)
    return entries


def in_range(versions, version):
    """Whether the PEP 440 range holds the version, pre-releases and development builds
    included (`>=3.0.0` holds 3.16.0.dev0); a version that is not PEP 440 is in no range."""
    try:
        return Version(version) in SpecifierSet(versions, prereleases=True)
    except InvalidVersion:
        return False


def closed_at(versions, version):
    """The range ended just below `version`, the first version its case agrees on: the
    lower bounds kept (an exact `==V` becomes `>=V`), every upper bound replaced by
    `<version`. None when no version would be left (a lower bound at `version` or above)."""
    kept = []
    for spec in SpecifierSet(versions):
        if spec.operator in (">=", ">", "!="):
            kept.append(str(spec))
        elif spec.operator in ("==", "~=", "==="):
            kept.append(f">={spec.version}")
    lower = [Version(k.lstrip(">=")) for k in kept if k.startswith(">")]
    if any(bound >= Version(version) for bound in lower):
        return None
    return ",".join(sorted(kept, key=lambda k: not k.startswith(">")) + [f"<{version}"])


def widened_shows_as(entry, divergence):
    """The entry's `shows_as` with how this divergence shows added (its rule, or the first
    line of its crash), or None where that cannot be written as a `shows_as` item."""
    if divergence.crash is not None:
        item = "crash: " + divergence.crash.splitlines()[0][:SHOWN_CRASH_TEXT].rstrip()
    else:
        item = divergence.rule
    if not _SHOWS_AS.match(item or ""):
        return None
    return [*(entry.shows_as or (entry.rule,)), item]


SHOWN_CRASH_TEXT = 80  # characters of a crash's first line a widened shows_as keeps


def edit_text(edit):
    """An entry's edit as the lines of TOML it means (`versions = ">=3.0.0,<3.16.0.dev0"`)."""
    if edit.get("remove"):
        return "remove the entry (no version is left in its range)"
    return "; ".join(f"{key} = {_toml_value(value)}" for key, value in edit.items())


def _toml_value(value):
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)
