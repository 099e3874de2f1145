"""The soak's report: JSON (versioned, for tools) and Markdown (for the person who triages).

Both say what ran (seeds, backends, examples per backend and mode, seconds per seed), each
group of undeclared failures with its smallest example, reproducer, replay command, the
seeds that hit it and the proposed condition, and anything else that keeps the gate red:
declared divergences that did not reproduce, workers without a usable report.
"""

import datetime
from collections import defaultdict

from conformance.research import triage

SCHEMA = "rnn-conformance-soak"
SCHEMA_VERSION = 1


def build(args, seeds, runs, reports, groups):
    """The soak's report: what ran and what it found (seeds that did not run are absent)."""
    ran = [run["seed"] for run in runs]
    soak = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "profile": args.profile,
        "max_examples": args.max_examples,
        "seeds_asked": seeds,
        "seeds": ran,
        "backends": sorted({b["name"] for r in reports.values() for b in r["backends"]}),
        "runs": runs,
        "examples": examples(reports),
        "groups": groups,
        "not_reproduced": [{"entry": e, "backend": b, "mode": m, "seeds": s}
                           for (e, b, m), s in sorted(triage.not_reproduced(reports).items())],
        "errors": [{"seed": s, "backend": b, "reason": why} for s, b, why in triage.errors(reports)],
    }
    soak["exit_status"] = 1 if soak["groups"] or soak["not_reproduced"] or soak["errors"] else 0
    return soak


def examples(reports):
    """{backend: {mode: {"examples", "data_sets", "seconds"}}} added up over the seeds."""
    total = defaultdict(lambda: defaultdict(lambda: {"examples": 0, "data_sets": 0, "seconds": 0.0}))
    for report in reports.values():
        for backend in report["backends"]:
            for mode, speed in (backend.get("speed") or {}).items():
                row = total[backend["name"]][mode]
                row["examples"] += speed.get("examples", 0)
                row["data_sets"] += speed.get("data_sets", 0)
                row["seconds"] = round(row["seconds"] + speed.get("seconds", 0.0), 1)
    return {name: dict(modes) for name, modes in total.items()}


def replay_command(soak, member):
    """The command that reruns the seed a member came from, on its backend alone."""
    budget = f" --max-examples {soak['max_examples']}" if soak.get("max_examples") else ""
    backend = member["backend"]
    target = f"--impl {backend.removeprefix('impl:')}" if backend.startswith("impl:") else f"--backends {backend}"
    return f"rnn-conformance run {target} --profile {soak['profile']} --seed {member['seed']}{budget}"


def markdown(soak):
    lines = [f"# Soak: {len(soak['seeds'])} of {len(soak['seeds_asked'])} seeds under `{soak['profile']}`", ""]
    lines += _what_ran(soak)
    lines += ["", f"## Undeclared failures: {counted(len(soak['groups']), 'group')}", ""]
    if not soak["groups"]:
        lines.append("None: every failure on every seed was a declared divergence.")
    for number, group in enumerate(soak["groups"], 1):
        lines += _group(soak, number, group)
    if soak["not_reproduced"]:
        lines += ["", "## Declared divergences that did not reproduce", ""]
        lines += [f"- `{n['entry']}` on {n['backend']} [{n['mode']}] (seeds {_seeds(n['seeds'])})" for n in soak["not_reproduced"]]
    if soak["errors"]:
        lines += ["", "## Workers without a usable report", ""]
        lines += [f"- seed {e['seed']}, {e['backend']}: {e['reason']}" for e in soak["errors"]]
    lines += ["", verdict(soak)]
    return "\n".join(lines) + "\n"


def _what_ran(soak):
    seconds = sum(run["seconds"] for run in soak["runs"])
    lines = [f"Seeds {_seeds(soak['seeds'])}; {seconds:.0f} s in all. Examples run (drawn and shrinking; data sets "
             "add the compiled modes' siblings):", "", "| backend | mode | examples | data sets | seconds |", "|---|---|---|---|---|"]
    for name, modes in sorted(soak["examples"].items()):
        for mode, row in modes.items():
            lines.append(f"| {name} | {mode} | {row['examples']} | {row['data_sets']} | {row['seconds']:.0f} |")
    return lines


def _group(soak, number, group):
    smallest, condition = group["smallest"], group["condition"]
    lines = [
        f"### {number}. {group['backend']}: {group['shows_as']}",
        "",
        f"- {counted(group['members'], 'failure')} on {len(group['seeds'])} of {len(soak['seeds'])} "
        f"seeds ({_seeds(group['seeds'])}); rules {', '.join(group['rules'])}; modes {', '.join(group['modes'])}",
        f"- properties: {', '.join(group['properties'])}",
        f"- smallest example (seed {smallest['seed']}, {smallest['property']} [{smallest['mode']}]): `{smallest['repr']}`",
        f"- {smallest['summary'].splitlines()[0] if smallest['summary'] else ''}",
        f"- case: `{smallest['case']}`; reproducer: `{smallest['reproducer']}`",
        f"- replay: `{replay_command(soak, smallest)}`",
        f"- tightest condition over the facts: `{condition['tightest']}`",
    ]
    if condition["proposed"] is not None:
        lines.append(f"- proposed condition: `{condition['proposed']}` (covers every member and none of the "
                     f"{condition['passing_seen']} distinct passing examples seen in these properties and modes)")
    else:
        lines.append(f"- no condition over the facts separates it: the tightest covers {condition['passing_covered']} of "
                     f"the {condition['passing_seen']} passing examples seen, e.g. `{_facts_text(condition['covered_example'])}` "
                     "(a fact is missing, or the failure depends on the data)")
    lines += [f"- {hint}" for hint in group["hints"]]
    return lines + [""]


def _facts_text(facts):
    return ", ".join(f"{k}={v!r}" for k, v in sorted((facts or {}).items()))


def _seeds(seeds):
    return ", ".join(map(str, seeds[:10])) + (f", … ({len(seeds)} in all)" if len(seeds) > 10 else "")


def counted(count, noun):
    """'1 seed', '2 seeds': the soak's lines read as sentences."""
    return f"{count} {noun}{'s' * (count != 1)}"


def verdict(soak):
    groups, others = len(soak["groups"]), len(soak["not_reproduced"]) + len(soak["errors"])
    if soak["exit_status"] == 0:
        return f"soak: no undeclared failure over {counted(len(soak['seeds']), 'seed')} (exit status 0)"
    if soak["exit_status"] == 1:
        return (f"soak: {counted(groups, 'group')} of undeclared failures, {counted(others, 'other problem')} "
                f"over {counted(len(soak['seeds']), 'seed')} (exit status 1)")
    return (f"soak: stopped after {counted(len(soak['seeds']), 'seed')}, {counted(groups, 'group')} of undeclared failures "
            f"in them (exit status {soak['exit_status']})")
