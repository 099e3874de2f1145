"""The wrapper every property wears: fit the example to the target's API, excuse only
declared divergences.

Kept apart from the properties so that each property module stays a plain list of
relations, and apart from the plugin so that properties run the same when called
directly (as the suite's own tests do).
"""

import contextlib
import functools
import signal
import threading
import time

from hypothesis import reject
from hypothesis.errors import HypothesisException

from cells.resample import siblings as resampled
from conformance.judge import coverage
from conformance.judge.assertions import Divergence
from conformance.base.limits import cut_short_note
from conformance.judge import run_state
from conformance.judge.runs import crash_text

class ExampleTimeout(Exception):
    """One example ran longer than the per-example timeout: a hang, reported as a crash."""


@contextlib.contextmanager
def _bounded(seconds, fired):
    """Raise ExampleTimeout in the body after `seconds`; `fired` gets True when it did."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def hang(signum, frame):
        fired.append(True)
        raise ExampleTimeout(f"no result after {seconds} s (--example-timeout): the backend hangs or is too slow")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def property_id_of(test):
    """"module::function" of a property (its module's last name): how results, the known
    file and the coverage lists name it."""
    return f"{test.__module__.rsplit('.', 1)[-1]}::{test.__name__}"


def contract_property(test=None, *, siblings=True):
    """Decorate a property body `test(target, example, ...)` (below @given).

    In a compiled mode the body also runs on the example's siblings (cells/resample.py):
    the same compiled configuration with new values, so the trace the example paid for
    checks several data sets. The drawn example runs first, so a failure Hypothesis can
    shrink is the one reported whenever the drawn example fails itself.
    `@contract_property(siblings=False)` is for a body whose compiled mode compiles
    little a sibling could reuse (L7's gradients, taken eagerly through the compiled
    model on the Keras 3 and tf_keras rows): there a sibling costs as much as a drawn
    example, the better spend.
    """
    if test is None:
        return functools.partial(contract_property, siblings=siblings)
    property_id = property_id_of(test)

    @functools.wraps(test)
    def run(target, example, **drawn):
        state = run_state.current()
        example = target.applicable(example)
        if not coverage.wanted(state.steer, target, property_id, example):
            reject()  # a top-up run (conformance/harness/covering.py) wants an example in another area
        call = state.budget.call((property_id, target.id))
        if not call.run:  # past the shrink limit (or after a hang): passes, so Hypothesis ends
            state.shrink_skipped[target.id] += 1
            return
        data_sets = [example] + (resampled(example) if target.compiles and siblings else [])
        started, failed, fired, excused = time.perf_counter(), False, [], False
        try:
            for number, data_set in enumerate(data_sets):
                state.data_sets_run[target.id] += 1
                checked = _check_one(state, test, property_id, target, data_set, drawn, number, len(data_sets), fired)
                excused = excused or checked is not None
                if checked == "excused crash":
                    break  # a declared crash of this configuration: its siblings would repeat it
        except Divergence as divergence:
            failed = True
            state.budget.failed(call, timed_out=bool(fired))
            note = cut_short_note(call, state.budget.seconds)
            if note:
                divergence.add_note(note)
                state.shrink_cut_short[target.id] += 1
            raise
        finally:
            state.examples_run[target.id] += 1
            (state.shrink_run if call.shrinking else state.drawn_run)[target.id] += 1
            state.seconds_spent[target.id] += time.perf_counter() - started
            for observe in state.observers:
                observe(target, failed, property_id=property_id, example=example, excused=excused)

    return run


def _check_one(state, test, property_id, target, example, drawn, number, count, fired):
    """One data set; a divergence the ledger does not excuse is raised, ready to replay.
    Returns "excused" after a declared divergence, "excused crash" when it is a crash,
    None when the data set conforms."""
    try:
        with _bounded(state.example_timeout, fired):
            test(target=target, example=example, **drawn)
    except Divergence as divergence:
        return _raise_unexcused(state.ledger, divergence, property_id, target, example, drawn, number, count)
    except HypothesisException:
        raise  # assume() and Hypothesis' own errors are Hypothesis' business
    except Exception as error:  # noqa: BLE001 - the property's own code choked on what it got
        divergence = unclassified(error, example, target)
        try:
            return _raise_unexcused(state.ledger, divergence, property_id, target, example, drawn, number, count)
        except Divergence as raised:
            raise raised from error
    return None


def unclassified(error, example, target):
    """A Divergence for an exception the property body raised outside any backend call:
    the harness or a comparison choking on what the backend returned (or the example
    timing out there). It has an example, so the failure is saved and replays."""
    text = crash_text(error)
    divergence = Divergence(
        "unclassified", f"the property failed on what the backend returned: {text}", example=example, target=target
    )
    if isinstance(error, ExampleTimeout):
        divergence.crash = text  # a hang, wherever it was caught
    return divergence


def _raise_unexcused(ledger, divergence, property_id, target, example, drawn, number, count):
    if ledger.excuse(target, divergence, property_id) is None:
        divergence.drawn = drawn  # the property's other draws, to replay it exactly
        # What the property was given: a metamorphic property's divergence names
        # the variant it ran, but replaying needs the input the variant came from.
        divergence.property_input = example
        divergence.property = property_id
        if number:
            divergence.add_note(
                f"Data set {number + 1} of {count}: a sibling of the drawn example (same cell "
                "structure, options, B, T and mask; values from cells/resample.py), shown above."
            )
        raise divergence
    return "excused" if divergence.crash is None else "excused crash"
