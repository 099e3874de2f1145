"""Parts `failure` and `mutants`: how fast the suite finds a real bug and shrinks it.

`failure` times the agreement property on the 2018 faulty TensorFlow loop, without its
explicit regression examples (as tests/properties/test_known_bad.py does), so Hypothesis has to
find the bug itself. `mutants` is the mutation analysis, summarised.
"""

import importlib
import time

from conformance.judge import run_state
from conformance.research import mutation
from conformance.base import profiles
from conformance.properties import test_agreement
from conformance.judge.assertions import divergences_in
from conformance.research.mutation import FirstFailureClock
from conformance.properties import generated_only
from conformance.backends import get_backend
from conformance.research.mutants import MUTANTS
from conformance.judge.targets import Target

FAULTY = ("tensorflow-2018", "function")
FIRST_FAILURE_SECONDS, SHRINK_SECONDS, MAX_MINIMAL_STEPS = 5.0, 30.0, 3


def generated_only_agreement():
    """The agreement property's body and strategy without its @example cases, ci settings, one bug."""
    chosen = profiles.settings_for("ci", report_multiple_bugs=False)
    return generated_only(test_agreement.test_agrees_with_reference, test_agreement.EXAMPLES, chosen)


def run_failure(chosen_backends, quick):
    name, mode = FAULTY
    backend = get_backend(name)
    if chosen_backends is not None and name not in chosen_backends:
        return {"target": f"{name} [{mode}]", "skipped": "not selected by --backends"}
    missing = backend.missing_package()
    if missing:
        return {"target": f"{name} [{mode}]", "skipped": f"not installed (missing {missing})"}
    for module in backend.packages:  # the clock starts after imports, as a run's would
        importlib.import_module(module)
    target, check = Target(backend, mode), generated_only_agreement()
    clock = FirstFailureClock(target)
    run = run_state.begin(run_state.RunState(observers=[clock]))
    try:
        check(target=target)
        minimal = None
    except Exception as failure:  # noqa: BLE001 - a Divergence, or a group of them
        found = divergences_in(failure)
        if not found:
            raise
        minimal = found[0].example
    finally:
        ended = time.perf_counter() - clock.started
        run_state.end(run)
    result = {"target": f"{name} [{mode}]", "skipped": None, "found": clock.first_failure is not None,
              "examples_run": clock.examples}
    if clock.first_failure is None or minimal is None:
        return result
    examples, seconds = clock.first_failure
    result.update(examples_to_first_failure=examples, seconds_to_first_failure=seconds,
                  seconds_to_shrink=ended - seconds, minimal_batch=minimal.batch, minimal_steps=minimal.steps)
    result["targets_met"] = {
        f"first failure < {FIRST_FAILURE_SECONDS:g} s": seconds < FIRST_FAILURE_SECONDS,
        f"shrink < {SHRINK_SECONDS:g} s": ended - seconds < SHRINK_SECONDS,
        f"minimal B == 1 and T <= {MAX_MINIMAL_STEPS}": minimal.batch == 1 and minimal.steps <= MAX_MINIMAL_STEPS,
    }
    return result


def failure_table(result):
    head = f"failure: agreement property (generated examples only, ci) on {result['target']}"
    if result["skipped"]:
        return f"{head}\n  {result['skipped']}"
    if "seconds_to_first_failure" not in result:
        return f"{head}\n  NOT FOUND after {result['examples_run']} examples"
    lines = [head,
             f"  first failure: example {result['examples_to_first_failure']}, {result['seconds_to_first_failure']:.2f} s",
             f"  shrinking: {result['seconds_to_shrink']:.2f} s; minimal example B={result['minimal_batch']}, "
             f"T={result['minimal_steps']}"]
    lines += [f"  {'met ' if met else 'MISSED'} {target}" for target, met in result["targets_met"].items()]
    return "\n".join(lines)


def run_mutants(chosen_backends, quick):
    """Every mutant hunted under ci (quick: three mutants, five examples per property)."""
    mutants = list(MUTANTS.values())[:3] if quick else list(MUTANTS.values())
    chosen = profiles.settings_for("ci", max_examples=5 if quick else None)
    hunts = [mutation.hunt(mutant, chosen) for mutant in mutants]
    killed, total = mutation.score(hunts)
    rows = [{"mutant": h.mutant.name, "killed": h.killed, "property": h.property, "explicit": h.explicit,
             "examples_to_kill": h.examples_to_kill, "seconds_to_kill": h.seconds_to_kill,
             "seconds_to_shrink": h.seconds_to_shrink} for h in hunts]
    return {"killed": killed, "total": total, "summary": mutation.summary(hunts), "rows": rows}


def mutants_table(result):
    """The summary only: the per-mutant table is `rnn-conformance mutants`'s own output."""
    lines = [f"mutants: {result['killed']}/{result['total']} killed (per mutant: rnn-conformance mutants)"]
    for field, figure in result["summary"].items():
        lines.append(f"  {field}: median {figure['median']:.3g}, worst {figure['worst']:.3g} ({figure['worst_mutant']})")
    lines += [f"  SURVIVED: {row['mutant']}" for row in result["rows"] if not row["killed"]]
    return "\n".join(lines)
