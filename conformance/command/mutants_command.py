"""`rnn-conformance mutants`: the mutation score of the suite, as a table and JSON.

Runs `conformance.research.mutation.hunt` on every mutant of the catalog (or those named with
`--mutants`): the forward mutants with the forward properties, the layer mutants with the
layer properties, the gradient mutants (where torch is installed) with the gradient
properties. It prints one line per mutant as it goes, then the table, each mutant's
shrunk minimal example, the score and the median / worst cost of a kill. Exit status 0
when every mutant is killed and, for each, some property failed by the rule its bug breaks
(conformance.research.mutation: "by its rule"); 1 when one survives or is killed only under other
rules; 2 for bad input (an unknown mutant, an
output path that cannot be written: one line, before any mutant runs).
"""

import json
import sys
import time
from dataclasses import asdict

from conformance.judge import run_state
from conformance.base import limits
from conformance.research import mutation
from conformance.base import output_paths
from conformance.base import profiles
from conformance.results import report
from conformance.research.mutants import BUILTIN_MUTANTS, LAYER_MUTANTS, MUTANTS, gradient_mutants
from conformance.base.usage import UsageError, usage_error

SCHEMA = "rnn-conformance-mutants"
SCHEMA_VERSION = 1


class UnknownMutant(UsageError):
    pass


def catalog():
    """Every mutant by name: the forward ones, the layer ones, the built-in layer ones, then
    the gradient ones (none without torch)."""
    return {**MUTANTS, **LAYER_MUTANTS, **BUILTIN_MUTANTS, **gradient_mutants()}


def selected_mutants(names):
    """The catalog, or the named mutants in the order given."""
    mutants = catalog()
    if names is None:
        return list(mutants.values())
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in mutants]
    if unknown or not chosen:
        raise UnknownMutant(f"unknown mutant {', '.join(unknown) or '(none named)'}; valid: {', '.join(mutants)}")
    return [mutants[n] for n in chosen]


def budgets_of(profile, max_examples=None):
    """Each property's settings: the profile's own budgets, as under pytest (a gradient
    property draws profiles.GRADIENT_EXAMPLES), or `max_examples` for all when given."""
    if max_examples:
        return profiles.settings_for(profile, max_examples)
    gradient = profiles.GRADIENT_EXAMPLES.get(profile)

    def chosen(property_test):
        return profiles.settings_for(profile, gradient if property_test in mutation.GRADIENT_PROPERTY_ORDER else None)

    return chosen


def main(args):
    """Run the selected mutants under args.profile; returns the exit status."""
    try:
        mutants = selected_mutants(args.mutants)
        output_paths.check_distinct({"--report": args.report, "--markdown": args.markdown})
        for option in ("report", "markdown"):
            if getattr(args, option):
                output_paths.check_file(f"--{option}", getattr(args, option))
    except UsageError as error:
        return usage_error(error)
    chosen = budgets_of(args.profile, args.max_examples)
    state = run_state.RunState(example_timeout=args.example_timeout, budget=limits.ShrinkBudget(
        None if args.shrink_seconds == float("inf") else args.shrink_seconds))
    with run_state.running(state):  # the hunts' own run: nothing of it outlives the command (called in process too)
        return _hunt_all(args, mutants, chosen)


def _hunt_all(args, mutants, chosen):
    """Hunt each mutant, print the table and the summary, write the files; the exit status."""
    print(f"{len(mutants)} mutants, profile {args.profile}; properties in this order until one fails:", flush=True)
    print("  forward mutants: " + ", ".join(p.__name__ for p in mutation.PROPERTY_ORDER), flush=True)
    print("  layer mutants: " + ", ".join(p.__name__ for p in mutation.LAYER_PROPERTY_ORDER), flush=True)
    print("  built-in layer mutants: " + ", ".join(p.__name__ for p in mutation.BUILTIN_PROPERTY_ORDER), flush=True)
    print("  gradient mutants: " + ", ".join(p.__name__ for p in mutation.GRADIENT_PROPERTY_ORDER), flush=True)
    if not gradient_mutants():
        print("  (the gradient mutants are not run: torch is not installed; pip install 'rnn-conformance[torch]')", flush=True)
    hunts, started = [], time.perf_counter()
    for mutant in mutants:
        h = mutation.hunt(mutant, chosen)
        hunts.append(h)
        verdict = f"killed by {h.property} [{h.rule}]" if h.killed else "SURVIVED"
        if h.killed and h.by_its_rule != h.property:
            verdict += f"; its rule {h.mutant.rule} named by {h.by_its_rule}" if h.by_its_rule else f"; NOT BY ITS RULE {h.mutant.rule}"
        print(f"[{mutant.name}] {verdict} ({h.examples_run} examples, {h.seconds:.1f} s)", flush=True)
    print()
    print(table(hunts))
    print("\nMinimal examples (shrunk by Hypothesis):")
    for h in hunts:
        print(f"  {h.mutant.name} ({h.mutant.models}): {short_example(h.divergence.example) if h.killed else '-'}")
    killed, total = mutation.score(hunts)
    print(f"\nMutation score: {killed}/{total} killed ({100 * killed / total:.0f}%) in {time.perf_counter() - started:.0f} s")
    for field, figure in mutation.summary(hunts).items():
        unit = "" if field == "examples_to_kill" else " s"
        print(f"  {field.replace('_', ' ')}: median {figure['median']:.3g}{unit}, worst {figure['worst']:.3g}{unit} ({figure['worst_mutant']})")
    explicit = sum(h.explicit for h in hunts)
    if explicit:
        print(f"  {explicit} killed by an explicit @example case (run before any drawn example, not shrunk)")
    by_rule = mutation.by_their_rule(hunts)
    print(f"  {by_rule} of {total} failed a property by the rule their bug breaks"
          f" ({sum(h.killed and h.by_its_rule == h.property for h in hunts)} at the first kill)")
    for h in hunts:
        if not h.killed:
            print(f"SURVIVED: {h.mutant.name} ({h.mutant.models}): {h.mutant.change}")
        elif not h.by_its_rule:
            print(f"NOT BY ITS RULE: {h.mutant.name} breaks {h.mutant.rule}; every failure named another rule")
    unwritten = False
    for path, text, option in ((args.report, lambda: json.dumps(as_json(hunts, args), indent=1) + "\n", "--report"),
                               (args.markdown, lambda: markdown(hunts), "--markdown")):
        if path:
            try:
                output_paths.write_atomic(path, text(), option)
                print(f"{option[2:]} written to {path}")
            except output_paths.OutputError as error:
                unwritten = True
                print(f"rnn-conformance: error: {error}", file=sys.stderr, flush=True)
    return 0 if killed == total and by_rule == total and not unwritten else 1


HEADER = ("mutant", "bug's rule", "verdict", "killed by", "rule named", "its rule named by", "examples", "s to kill",
          "s to shrink")


def _its_rule_cell(h):
    if not h.by_its_rule:
        return "NOT BY ITS RULE"
    return "the same" if h.by_its_rule == h.property else h.by_its_rule.split("::")[1]


def _row(h):
    """One mutant's cells, as the table and the Markdown both show them."""
    if not h.killed:
        return (h.mutant.name, h.mutant.rule, "SURVIVED", "-", "-", "-", f"({h.examples_run})", "-", "-")
    examples = f"{h.examples_to_kill}{' (explicit)' if h.explicit else ''}"
    return (h.mutant.name, h.mutant.rule, "killed", h.property, h.rule, _its_rule_cell(h), examples,
            f"{h.seconds_to_kill:.2f}", f"{h.seconds_to_shrink:.2f}")


def table(hunts):
    rows = [HEADER] + [_row(h) for h in hunts]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def markdown(hunts):
    """The table as Markdown (docs/mutation.md, a CI job summary), with each mutant's source and example."""
    lines = ["| mutant | models | bug's rule | killed by | rule named | its rule named by | examples | s to kill | s to shrink"
             " | minimal example |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for h in hunts:
        name, rule, _, killed_by, *rest = _row(h)
        killed_by = f"`{killed_by.split('::')[1]}`" if h.killed else "**SURVIVED**"
        example = short_example(h.divergence.example) if h.killed else "-"
        lines.append("| " + " | ".join((f"`{name}`", h.mutant.models, rule, killed_by, *rest, example)) + " |")
    return "\n".join(lines) + "\n"


def short_example(example):
    """B, T, the mask, options away from their defaults, and the cell's families."""
    defaults = type(example.options)()
    changed = [f"{k}={v}" for k, v in asdict(example.options).items() if getattr(defaults, k) != v]
    mask = "None" if example.mask is None else str(example.mask.astype(int).tolist())
    families = ",".join(sorted(example.structure.families())) or "plain"
    return f"B={example.batch} T={example.steps} mask={mask} {' '.join(changed) or 'default options'}; cell: {families}"


def as_json(hunts, args):
    killed, total = mutation.score(hunts)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "profile": args.profile,
        "max_examples": args.max_examples or profiles.settings_for(args.profile).max_examples,
        "properties": [p.__name__ for p in mutation.PROPERTY_ORDER],
        "gradient_properties": [p.__name__ for p in mutation.GRADIENT_PROPERTY_ORDER],
        "killed": killed,
        "total": total,
        "by_its_rule": mutation.by_their_rule(hunts),
        "score": killed / total,
        "summary": mutation.summary(hunts),
        "mutants": [
            {
                "name": h.mutant.name,
                "models": h.mutant.models,
                "breaks": h.mutant.rule,
                "kind": h.kind,
                "change": h.mutant.change,
                "killed": h.killed,
                "property": h.property,
                "rule": h.rule,
                "by_its_rule": h.by_its_rule,
                "examples_to_kill": h.examples_to_kill,
                "seconds_to_kill": h.seconds_to_kill,
                "seconds_to_shrink": h.seconds_to_shrink,
                "explicit_example": h.explicit,
                "examples_run": h.examples_run,
                "seconds": h.seconds,
                "summary": h.divergence.summary if h.killed else None,
                "example": report.example_configuration(h.divergence.example) if h.killed else None,
            }
            for h in hunts
        ],
    }
