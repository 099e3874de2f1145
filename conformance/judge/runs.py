"""Running one example: on the reference, and on a target with crashes turned into findings."""

from hypothesis import event
from hypothesis.control import currently_in_test_context

from conformance.judge.assertions import Divergence, assert_same_results
from conformance.backends import get_backend, interrupts
from conformance.backends.crashes import crash_text
from conformance.contract import precision
from conformance.contract.gradients import batch_major


def expected(example):
    """What the contract says `rnn` returns for this example (the NumPy reference; in
    float16 and bfloat16 computed in float64 and rounded once, section 3)."""
    if precision.applies_to(example):
        return precision.expected_in_low_precision(example)
    return get_backend("reference").run(example, "eager")


def run_backend(target, example, rule):
    """Run the target on the example; any exception is a divergence (a crash), not a skip.

    So are SystemExit and a KeyboardInterrupt the backend raised itself; a KeyboardInterrupt
    from a real Ctrl-C (a SIGINT arrived during the call) still stops the run."""
    return crashes_as_divergences(target, example, rule, lambda: target.backend.run(example, target.mode))


def run_backend_with_gradients(target, example, loss_weights, rule):
    """`(Result, Gradients)` of the target on the example (CONTRACT.md section 5), the
    gradients batch-major; a crash is a divergence of `rule`, as in `run_backend`."""
    result, gradients = crashes_as_divergences(
        target, example, rule, lambda: target.backend.run_with_gradients(example, target.mode, loss_weights)
    )
    return result, batch_major(gradients, example)


def crashes_as_divergences(target, example, rule, call):
    """`call()`, with any exception of the backend's a divergence of `rule` (a crash)."""
    if currently_in_test_context():  # coverage evidence for --hypothesis-show-statistics
        for family in sorted(example.structure.families()):
            event(f"cell family: {family}")
        event(f"mask family: {example.mask_family}")
    sigints = interrupts.watch()
    try:
        return call()
    except Divergence:
        raise
    except (Exception, KeyboardInterrupt, SystemExit) as error:  # noqa: BLE001 - a crash inside a backend is a finding
        if not interrupts.raised_by_backend(error, sigints):
            raise  # the user pressed Ctrl-C
        crash = getattr(error, "crash_text", None) or crash_text(error)  # a layer worker's own
        divergence = Divergence(rule, f"CRASH: {crash}", example=example, target=target)
        divergence.crash = crash
        raise divergence from error


def assert_equivalent_runs(target, example, variant, rule, relation, adjust=None):
    """A metamorphic relation: `variant` of `example` must give the same results.

    `adjust`, when given, maps the variant's Result into `example`'s layout before
    comparing (e.g. a transpose), so positions are then read with `example`'s options.
    """
    variant_result = run_backend(target, variant, rule)
    if adjust is not None:
        variant_result = adjust(variant_result)
    try:
        layout = example if adjust is not None else variant
        assert_same_results(variant_result, run_backend(target, example, rule), variant, target, rule, relation, layout)
    except Divergence as divergence:
        if divergence.crash is None:
            divergence.runs = (variant, example)
        raise

