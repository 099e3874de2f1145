"""The backend x mode matrix: what each target did in this run, as a Markdown table.

Fed by the plugin with each property's outcome; rendered at the end of the run
(`--matrix PATH`). README's backend table is this file's output from a real run.
"""

from dataclasses import dataclass, field


@dataclass
class TargetRecord:
    backend: str
    mode: str
    version: str = ""
    passed: int = 0
    failed_rules: set = field(default_factory=set)
    failed: int = 0
    not_installed: str = ""
    not_applicable: int = 0
    known: set = field(default_factory=set)  # entry ids that excused failures here

    def verdict(self, entry_rules=None):
        if self.not_installed:
            return "not installed"
        if self.failed:
            return f"DIVERGES ({', '.join(sorted(self.failed_rules)) or 'crash'})"
        if self.known:
            rules = sorted({(entry_rules or {}).get(e, "?") for e in self.known}, key=lambda r: (len(r), r))
            return f"diverges, declared ({', '.join(rules)})"
        return "conforms" if self.passed else "not run"


class Matrix:
    def __init__(self):
        self.records = {}
        self.entry_rules = {}
        self.entry_links = {}  # entry id -> its minimal example, relative to the repository

    def record(self, target):
        key = (target.backend.name, target.mode)
        if key not in self.records:
            self.records[key] = TargetRecord(target.backend.name, target.mode)
        return self.records[key]

    def to_markdown(self, known_link="conformance/known_divergences.toml"):
        """The table; each entry links to its minimal example (else to the ledger)."""
        lines = [
            "| backend | version | mode | result | properties passed | not applicable | known divergences |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.records.values():
            known = ", ".join(f"[{e}]({self.entry_links.get(e, known_link)})" for e in sorted(r.known)) or "-"
            lines.append(
                f"| `{r.backend}` | {r.version or '-'} | {r.mode} | {r.verdict(self.entry_rules)} | {r.passed} | {r.not_applicable} | {known} |"
            )
        return "\n".join(lines) + "\n"

