"""Part `overhead`: what the harness (reference run, comparison, bookkeeping) adds to a bare backend call.

Target: the harness costs at most twice the bare call wherever the bare call is over
1 ms; below that fixed costs dominate and the ratio says nothing ("n/a").
"""

import statistics

from hypothesis import given

from benchmarks import failure_reason, median_seconds, not_installed, selected
from conformance.judge import run_state
from conformance.base import profiles
from conformance.judge.assertions import Divergence
from conformance.backends import default_backends
from conformance.judge.targets import Target
from conformance.properties.test_agreement import EXAMPLES, test_agrees_with_reference

TIMED_CALLS = 3
MAX_RATIO, MEANINGFUL_SECONDS = 2.0, 1e-3


def drawn_examples(count):
    """The first `count` examples the ci profile (derandomized) draws: the same on every run."""
    drawn = []

    @given(example=EXAMPLES)
    def collect(example):
        drawn.append(example)

    with profiles.applied(profiles.settings_for("ci", max_examples=count), [collect]):
        collect()
    return drawn[:count]


def harness_once(target, example):
    """The agreement property's body on one example; a (known) divergence still cost its
    time. Returns the data sets it checked: the example and, in compiled modes, its
    siblings (cells/resample.py), so the harness is compared per data set."""
    with run_state.running() as run:
        try:
            test_agrees_with_reference.hypothesis.inner_test(target=target, example=example)
        except Divergence:
            pass
    return run.data_sets_run[target.id]


def measure(target, examples):
    """(median harness seconds per data set, median bare seconds, examples skipped) over
    the examples.

    An example the backend crashes on (a declared divergence, say) is left out of both:
    the cost of an exception says nothing about the loop or the harness.
    """
    harness, bare, crashed = [], [], 0
    for example in examples:
        applicable = target.applicable(example)  # what the harness hands the backend
        try:
            target.backend.run(applicable, target.mode)  # warm-up: compile once, cached after
        except ModuleNotFoundError:
            raise  # not installed after all, not a crash on this example
        except Exception:  # noqa: BLE001
            crashed += 1
            continue
        bare.append(median_seconds(lambda: target.backend.run(applicable, target.mode), TIMED_CALLS))
        data_sets = harness_once(target, example)  # warm-up of the siblings' calls too
        harness.append(median_seconds(lambda: harness_once(target, example), TIMED_CALLS) / data_sets)
    if not bare:
        raise RuntimeError(f"the backend crashed on all {crashed} examples")
    return statistics.median(harness), statistics.median(bare), crashed


def run(chosen_backends, quick):
    examples = drawn_examples(3 if quick else 20)
    backends = [b for b in default_backends() if b.level == "function"]
    names = selected([b.name for b in backends], chosen_backends)
    rows = []
    for backend in (b for b in backends if b.name in names):
        skipped = not_installed(backend)
        for mode in backend.modes:
            row = {"backend": backend.name, "mode": mode, "skipped": skipped}
            rows.append(row)
            if skipped:
                continue
            try:
                harness, bare, crashed = measure(Target(backend, mode), examples)
            except Exception as error:  # noqa: BLE001 - one broken backend must not stop the others
                row["skipped"] = failure_reason(error)
                continue
            ratio = harness / bare
            holds = "n/a" if bare <= MEANINGFUL_SECONDS else ("yes" if ratio <= MAX_RATIO else "no")
            row.update(crashed_examples=crashed, harness_seconds=harness, bare_seconds=bare, ratio=ratio, target_holds=holds)
    return {"examples": len(examples), "timed_calls": TIMED_CALLS, "max_ratio": MAX_RATIO, "rows": rows}


def table(result):
    lines = [f"overhead: median over {result['examples']} drawn examples of the median of {result['timed_calls']} calls; "
             f"target ratio <= {result['max_ratio']:g} where bare > 1 ms",
             "  (harness per data set: in compiled modes an example also runs its siblings;",
             "   examples a backend crashes on are left out: column crashed)",
             f"  {'target':30} {'harness ms':>10} {'bare ms':>10} {'ratio':>6} {'holds':>5} {'crashed':>7}"]
    for row in result["rows"]:
        target = f"{row['backend']} [{row['mode']}]"
        if row["skipped"]:
            lines.append(f"  {target:30} {row['skipped']}")
        else:
            lines.append(f"  {target:30} {row['harness_seconds'] * 1e3:10.3f} {row['bare_seconds'] * 1e3:10.3f} "
                         f"{row['ratio']:6.2f} {row['target_holds']:>5} {row['crashed_examples']:7d}")
    return "\n".join(lines)
