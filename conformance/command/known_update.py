"""`rnn-conformance known update --report R.json`: the ledger kept after a run in one command.

A run proposes every edit its findings call for (CONTRACT.md section 6): a declared
divergence whose case agrees now (FIXED) has its range closed at the version tested; one
whose case diverges another way (CHANGED) has that way added to its `shows_as`, the
entry's own case being the evidence; a new divergence with a saved case that resembles one
entry in everything but its condition has that condition widened by the case's facts
(conformance/known/known_conditions.py). This writes them, each into the file that declares the
entry (the shipped file or a layered one, as the report names it), through tomlkit, so
that every byte outside the edited values stays as it was: `git diff` shows the entries
concerned and nothing else. What needs a person is listed, never guessed.

Exit status: 0 every proposed edit written (or none); 1 written, but some findings need a
person; 2 bad input (one line).
"""

from collections import defaultdict
from pathlib import Path

from conformance.known import known_conditions
from conformance.known.ledger import edit_text
from conformance.command import merge_command
from conformance.base.usage import UsageError, usage_error


def main(args):
    try:
        report = _read_report(args.report)
        edits, for_a_person = proposed_edits(report)
        documents = _documents(edits)
        _resolve_conditions(edits, documents)
    except UsageError as error:
        return usage_error(error)
    for (path, entry_id), edit in edits.items():
        print(f"{entry_id}: {edit_text(edit['fields'])}  ({path}; {edit['why']})")
        if not args.dry_run:
            _apply(documents[path], entry_id, edit["fields"])
    if not args.dry_run:
        import tomlkit

        for path, document in documents.items():
            Path(path).write_text(tomlkit.dumps(document))
    for line in for_a_person:
        print(f"needs a person: {line}")
    verb = "would write" if args.dry_run else "wrote"
    print(f"rnn-conformance known update: {verb} {len(edits)} edit{'s' * (len(edits) != 1)} in "
          f"{len({p for p, _ in edits})} file{'s' * (len({p for p, _ in edits}) != 1)}"
          + (f"; {len(for_a_person)} finding{'s' * (len(for_a_person) != 1)} need a person" if for_a_person else ""))
    return 1 if for_a_person else 0


def _read_report(path):
    """The report, read and checked as `merge` reads one (a regular file, its size, every
    field the edits read); a UsageError line otherwise."""
    try:
        return merge_command.load(path)
    except UsageError as error:
        raise UsageError(f"--report {error}") from None


def proposed_edits(report):
    """({(known file, entry id): {"fields": {...}, "why": text}}, [lines for a person])."""
    edits, for_a_person = {}, []
    replays = defaultdict(lambda: defaultdict(list))  # (file, entry) -> outcome -> results
    resembling = defaultdict(list)  # (file, entry) -> (facts, case) of new divergences resembling only it
    for backend in report.get("backends", []):
        for r in backend.get("results", []):
            if r.get("replay") and r.get("known_divergence") and r.get("known_file"):
                replays[r["known_file"], r["known_divergence"]][r["outcome"]].append(r)
            elif r.get("outcome") in ("fail", "crash"):
                _resembling(backend["name"], r, resembling, for_a_person)
    for key, by_outcome in replays.items():
        edit, problem = _replay_edit(key[1], by_outcome)
        if edit:
            edits[key] = edit
        if problem:
            for_a_person.append(problem)
    for key, cases in resembling.items():
        if key in edits:
            for_a_person.append(f"{key[1]}: a new divergence resembles it, and its replay asks another edit: widen its condition by hand")
            continue
        more = f" and {len(cases) - 1} more" if len(cases) > 1 else ""
        edits[key] = {"fields": {"condition": cases}, "why": f"widened by the saved case {cases[0][1]}{more}"}
    return edits, for_a_person


def _resembling(backend, result, resembling, for_a_person):
    """A new divergence's resemblances: the condition of the one entry it resembles in all
    but its condition is widened by its facts, where the suite saved its case."""
    entries = result.get("resembles") or []
    where = f"{backend} [{result['mode']}] {result['property']}"
    if not entries:
        return
    widenable = [e for e in entries if e.get("edit") and e.get("facts")]
    if len(entries) > 1:
        for_a_person.append(f"{where}: resembles {', '.join(e['entry'] for e in entries)}: which root cause is it?")
    elif not widenable:
        for_a_person.append(f"{where}: resembles {entries[0]['entry']}: {entries[0]['differs']}")
    elif not result.get("case"):
        for_a_person.append(f"{where}: resembles {entries[0]['entry']}, but no case was saved to widen it by")
    else:
        resembling[entries[0]["known_file"], entries[0]["entry"]].append((entries[0]["facts"], result["case"]))


def _replay_edit(entry_id, by_outcome):
    """The edit a replay's verdicts ask for: FIXED in every mode it was replayed in closes
    the range; CHANGED adds to shows_as. (edit or None, line for a person or None)."""
    fixed, changed, held = by_outcome.get("known-fixed", []), by_outcome.get("known-changed", []), by_outcome.get("known", [])
    if fixed and (changed or held):
        modes = lambda results: ", ".join(sorted({r["mode"] for r in results}))  # noqa: E731
        return None, (f"{entry_id}: its case agrees in {modes(fixed)} but not in "
                      f"{modes(changed + held)}: split the entry by mode, or narrow its modes")
    if fixed:
        edit = fixed[0].get("edit") or {}
        if edit.get("remove"):
            return None, f"{entry_id}: FIXED on {fixed[0].get('tested_version')}, and no version is left in its range: remove it"
        return {"fields": edit, "why": f"FIXED: its case agrees on {fixed[0].get('tested_version')}"}, None
    if changed:
        edits = [r.get("edit") for r in changed]
        if not all(edits):
            return None, f"{entry_id}: CHANGED, and no run that diverged meets its condition: {changed[0]['summary'][:200]}"
        shows_as = list(dict.fromkeys(item for e in edits for item in e["shows_as"]))
        return {"fields": {"shows_as": shows_as}, "why": f"CHANGED: its case now diverges otherwise on "
                f"{changed[0].get('tested_version')}: check that it is the same root cause"}, None
    return None, None


def _documents(edits):
    """{known file: its parsed document}; every entry to edit must be in its file."""
    import tomlkit

    documents = {}
    for path, entry_id in edits:
        if path not in documents:
            try:
                documents[path] = tomlkit.parse(Path(path).read_text())
            except (OSError, ValueError) as error:
                raise UsageError(f"cannot read the known-divergence file {path} the report names: {error}") from None
        if _entry(documents[path], entry_id) is None:
            raise UsageError(f"{path} declares no entry {entry_id!r} (the report names it): was the file changed since the run?")
    return documents


def _entry(document, entry_id):
    return next((table for table in document.get("divergence", []) if table.get("id") == entry_id), None)


def _resolve_conditions(edits, documents):
    """A condition to widen becomes its new text: widened by each saved case in turn."""
    for (path, entry_id), edit in edits.items():
        cases = edit["fields"].get("condition")
        if isinstance(cases, list):
            condition = str(_entry(documents[path], entry_id)["condition"])
            for facts, _ in cases:
                condition = known_conditions.widened(condition, facts) or condition
            edit["fields"]["condition"] = condition


def _apply(document, entry_id, fields):
    """Set the edited values in the entry's table; nothing else of the document changes."""
    import tomlkit

    table = _entry(document, entry_id)
    for key, value in fields.items():
        if isinstance(value, list):
            array = tomlkit.array()
            array.extend(value)
            table[key] = array
        else:
            table[key] = value
