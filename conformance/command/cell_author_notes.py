"""What the declared divergences a `--cell` run met mean for the cell's author.

"declared divergences met" names entries; a cell author needs one screen that says, per
root cause, what it does to their cell and what to write instead. The notes are data
(conformance/command/cell_author_notes.toml), keyed by the entry id without its backend prefix,
so one note serves the same root cause on every row.
"""

import tomllib
from pathlib import Path

from conformance.results import results

NOTES_FILE = Path(__file__).resolve().with_name("cell_author_notes.toml")


def load_notes(path=NOTES_FILE):
    return tomllib.loads(Path(path).read_text())


def root_cause_of(entry_id, backend):
    """'layer-keras-jax-masked-output-from-states0' on layer-keras-jax: 'masked-output-from-states0'."""
    return entry_id.removeprefix(f"{backend}-")


def notes_text(run_report, notes=None):
    """One paragraph per root cause met: the rows it reached, what it means, the workaround."""
    notes = load_notes() if notes is None else notes
    rows = {}
    for entry_id, backend, _mode, _excused, _replayed in results.view_of(run_report).matched_known:
        rows.setdefault(root_cause_of(entry_id, backend), set()).add(backend)
    if not rows:
        return ""
    lines = ["what they mean for your cell:"]
    for cause, backends in sorted(rows.items()):
        note = notes.get(cause)
        meaning = note["meaning"] if note else "no note yet: read the entry's reason in conformance/known/known_divergences.toml"
        lines.append(f"  {cause} ({', '.join(sorted(backends))}): {meaning}")
        if note and note.get("workaround"):
            lines.append(f"    workaround: {note['workaround']}")
    return "\n".join(lines)
