"""Triage of a soak: the undeclared failures of many seeds, grouped by suspected root cause,
each group with the tightest condition over the facts that covers it.

Pure functions over run reports (a `soak` runs one report per seed, with `seen`: the facts
of every example its workers ran, conformance/harness/seen.py); nothing here runs a backend.

A group is what one known-divergence entry would declare: one backend and how the failure
shows (its rule, or for a crash the crash text with its numbers and quoted names blanked),
across the properties and modes it reached, since an entry excuses its root cause in every
property (conformance/known.py). Its condition is proposed from the facts (conformance/
facts.py) of the members' minimal examples:

- `tightest`: every fact on which all members agree (a boolean, one value, or the range of
  a number), joined with `and`; it covers every member by construction.
- whether it covers an example the soak saw pass in the group's properties, backend and
  modes: if it does, no condition over the facts separates the group (a fact is missing,
  or the failure depends on the data), and the group says so with such an example.
- `proposed`: the fewest of those literals that still exclude every passing example
  (greedy), the shape a person would write into known_divergences.toml. It proposes; a
  person declares, never wider than reproduced.
"""

import re
from collections import defaultdict

# What failures a soak triages: new ones. A declared entry whose case agrees now or diverges
# otherwise ("known-fixed", "known-changed") is listed apart: it is the same on every seed
# (a replay of a saved case).
NEW = ("fail", "crash")

_NUMBER = re.compile(r"\b\d+(?:\.\d+)?(?:e-?\d+)?\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_SPACES = re.compile(r"\s+")
SIGNATURE_LENGTH = 160


def signature(result):
    """How a failure shows: its rule, or "crash: " and the crash's first line with numbers,
    shapes and quoted names blanked (the same crash at other sizes is the same cause)."""
    summary = result.get("summary") or ""
    if result["outcome"] != "crash":
        return result["rule"] or "unclassified"
    text = summary.removeprefix("CRASH: ").strip().splitlines()[0] if summary.strip() else ""
    text = _QUOTED.sub("'…'", text)
    text = _NUMBER.sub("N", text)
    return "crash: " + _SPACES.sub(" ", text)[:SIGNATURE_LENGTH]


def members_of(report, seed):
    """The new failures of one seed's report, each a flat dict."""
    for backend in report["backends"]:
        for r in backend["results"]:
            if r["outcome"] in NEW and not r.get("replay"):
                example = r.get("example") or {}
                yield {
                    "seed": seed,
                    "backend": backend["name"],
                    "mode": r["mode"],
                    "property": r["property"],
                    "rule": r["rule"],
                    "outcome": r["outcome"],
                    "summary": r["summary"],
                    "signature": signature(r),
                    "facts": example.get("facts") or {},
                    "repr": example.get("repr"),
                    "case": r.get("case"),
                    "reproducer": r.get("reproducer"),
                    "resembles": r.get("resembles"),
                    "declared_underneath": r.get("declared_underneath"),
                }


def passing_of(report):
    """{(backend, mode, property): [facts of an example that passed]} of one report."""
    passing = defaultdict(list)
    for backend in report["backends"]:
        for seen in backend.get("seen") or ():
            if seen["outcome"] == "pass":
                passing[backend["name"], seen["mode"], seen["property"]].append(seen["facts"])
    return passing


def size(member):
    """Smaller is a better example to show: fewer samples and steps, then less text."""
    facts = member["facts"]
    return (facts.get("batch", 0) * facts.get("steps", 0), facts.get("steps", 0), facts.get("states", 0),
            len(member.get("repr") or ""))


# -- conditions over the facts -------------------------------------------------------------


class Literal:
    """One clause of a condition: `name`, `not name`, `name == v`, `name in (...)`,
    `name >= v` or `name <= v`."""

    def __init__(self, name, op, value):
        self.name, self.op, self.value = name, op, value

    def holds(self, facts):
        if self.name not in facts:
            return False
        value = facts[self.name]
        return {
            "is": lambda: value is self.value,
            "==": lambda: value == self.value,
            "in": lambda: value in self.value,
            ">=": lambda: value >= self.value,
            "<=": lambda: value <= self.value,
        }[self.op]()

    def text(self):
        if self.op == "is":
            return self.name if self.value else f"not {self.name}"
        if self.op == "in":
            return f"{self.name} in ({', '.join(map(repr, self.value))})"
        return f"{self.name} {self.op} {self.value!r}"


def literals_shared_by(facts_list):
    """Every literal all the members' facts satisfy, the tightest first for each fact."""
    names = set.intersection(*(set(f) for f in facts_list)) if facts_list else set()
    found = []
    for name in sorted(names):
        values = [f[name] for f in facts_list]
        if all(isinstance(v, bool) for v in values):
            if len(set(values)) == 1:
                found.append(Literal(name, "is", values[0]))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            low, high = min(values), max(values)
            found += [Literal(name, "==", low)] if low == high else [Literal(name, ">=", low), Literal(name, "<=", high)]
        else:
            distinct = sorted(set(map(str, values)))
            found.append(Literal(name, "==", distinct[0]) if len(distinct) == 1 else Literal(name, "in", tuple(distinct)))
    return found


def condition_text(literals):
    """The literals joined as a known-divergence condition (`True` for none); a number's
    two bounds read as one range."""
    parts, bounds = [], {}
    for literal in literals:
        if literal.op in (">=", "<="):
            bounds.setdefault(literal.name, {})[literal.op] = literal.value
    done = set()
    for literal in literals:
        if literal.op in (">=", "<=") and len(bounds[literal.name]) == 2:
            if literal.name not in done:
                done.add(literal.name)
                parts.append(f"{bounds[literal.name]['>=']!r} <= {literal.name} <= {bounds[literal.name]['<=']!r}")
        else:
            parts.append(literal.text())
    return " and ".join(parts) or "True"


def covers(literals, facts):
    return all(literal.holds(facts) for literal in literals)


def propose(member_facts, passing_facts):
    """{tightest, covered_passing, a passing example it covers, proposed}: see the module."""
    tightest = literals_shared_by(member_facts)
    covered = [f for f in passing_facts if covers(tightest, f)]
    proposal = {
        "tightest": condition_text(tightest),
        "passing_seen": len(passing_facts),
        "passing_covered": len(covered),
        "covered_example": covered[0] if covered else None,
        "proposed": None,
    }
    if covered:
        return proposal  # no condition over these facts separates the group
    chosen, remaining = [], list(passing_facts)
    while remaining:
        best = max(tightest, key=lambda lit: sum(not lit.holds(f) for f in remaining))
        chosen.append(best)
        remaining = [f for f in remaining if best.holds(f)]
    proposal["proposed"] = condition_text(sorted(chosen, key=tightest.index))
    return proposal


# -- groups --------------------------------------------------------------------------------


def triage(seed_reports):
    """[group] from {seed: report}: one per (backend, signature), largest first."""
    grouped, passing = defaultdict(list), defaultdict(list)
    for seed, report in seed_reports.items():
        for member in members_of(report, seed):
            grouped[member["backend"], member["signature"]].append(member)
        for key, facts in passing_of(report).items():
            passing[key] += facts
    groups = []
    for (backend, shows_as), members in grouped.items():
        modes = sorted({m["mode"] for m in members})
        properties = sorted({m["property"] for m in members})
        seen_passing = _unique([f for mode in modes for prop in properties for f in passing[backend, mode, prop]])
        smallest = min(members, key=size)
        groups.append({
            "backend": backend,
            "shows_as": shows_as,
            "rules": sorted({m["rule"] or "unclassified" for m in members}),
            "properties": properties,
            "modes": modes,
            "seeds": sorted({m["seed"] for m in members}),
            "members": len(members),
            "smallest": smallest,
            "condition": propose([m["facts"] for m in members], seen_passing),
            "hints": sorted({h for m in members for h in _hints(m)}),
        })
    return sorted(groups, key=lambda g: (-len(g["seeds"]), g["backend"], g["shows_as"]))


def _hints(member):
    for entry in member.get("resembles") or ():
        yield f"resembles {entry['entry']}: {entry['differs']}"
    for entry in member.get("declared_underneath") or ():
        yield f"declared on the function row underneath: {entry}"


def _unique(facts_list):
    seen, unique = set(), []
    for facts in facts_list:
        key = tuple(sorted(facts.items()))
        if key not in seen:
            seen.add(key)
            unique.append(facts)
    return unique


def not_reproduced(seed_reports):
    """Declared entries whose saved case did not reproduce as declared: {(entry id, backend, mode): [seeds]}."""
    found = defaultdict(list)
    for seed, report in seed_reports.items():
        for backend in report["backends"]:
            for r in backend["results"]:
                if r["outcome"] in ("known-fixed", "known-changed"):
                    found[r["known_divergence"], backend["name"], r["mode"]].append(seed)
    return dict(found)


def errors(seed_reports):
    """Workers without a usable report: [(seed, backend, reason)]."""
    return [(seed, b["name"], b.get("reason")) for seed, report in seed_reports.items()
            for b in report["backends"] if b["status"] == "error"]
