"""The rows table (`--matrix PATH`): one line per backend x mode, rendered
from the results model (conformance/results/results.py) like every other output of a run.

Columns: backend | version | mode | result | properties passed | not applicable | known
divergences. The result is the row's status, with the rules of what made it diverge
(`diverges: known R2, R4`, `diverges: DIVERGES R3`); each declared divergence and each new
one links to its saved case, relative to the repository when the case is inside it.
"""

from pathlib import Path

from conformance.base.output_paths import write_atomic
from conformance.results import results as model
from conformance.results.results import markdown_cell

REPOSITORY = Path(__file__).resolve().parents[2]


def readme_table(report, repository=REPOSITORY):
    lines = [
        "| backend | version | mode | result | properties passed | not applicable | known divergences |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in model.view_of(report).rows:
        known = ", ".join(f"[{markdown_cell(entry)}]({_link(case, repository)})" for entry, case in row.known.items()) or "-"
        cells = (f"`{markdown_cell(row.backend, code=True)}`", markdown_cell(row.version or "-"), markdown_cell(row.mode),
                 _result(row, repository), row.passed, row.not_applicable, known)
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines) + "\n"


def write_readme_table(report, path):
    """`--matrix PATH`: the table, written."""
    write_atomic(path, readme_table(report), "--matrix")


def _result(row, repository):
    """The status, then each kind of divergence (worst first) with its rules."""
    if row.status != "diverges":
        return row.status
    by_word = {}
    for r in row.new:
        word = model.CELL_OF_OUTCOME[r["outcome"]]
        label = markdown_cell(r["known_divergence"] if r["outcome"] in model.LEDGER_CHANGES else r["rule"] or model.UNCLASSIFIED)
        by_word.setdefault(word, {})[label] = f"[{label}]({_link(r['case'], repository)})" if r.get("case") else label
    if row.known_rules:
        by_word[model.KNOWN] = {rule: rule for rule in row.known_rules}
    parts = []
    for word in model.WORST_FIRST:
        if word in by_word:
            parts.append(f"{word} " + ", ".join(by_word[word][k] for k in sorted(by_word[word], key=_rule_order)))
    return "diverges: " + "; ".join(parts)


def _rule_order(rule):
    return (len(rule), rule)  # R2 before R10


def _link(case, repository):
    if not case:
        return "-"
    try:
        link = Path(case).resolve().relative_to(repository).as_posix()
    except ValueError:
        link = Path(case).as_posix()
    return markdown_cell(link, code=True).replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C")
