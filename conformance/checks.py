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
from collections import Counter

from cells.resample import siblings
from conformance.assertions import Divergence
from conformance.known import Ledger

_ledger = Ledger()

# Examples run and seconds spent per target id, harness included (reference, comparisons):
# the speed table of a run (examples per second per backend and mode).
examples_run = Counter()
seconds_spent = Counter()
# Data sets checked per target id: the drawn examples plus, in compiled modes, their siblings.
data_sets_run = Counter()

# Called after every example as observer(target, failed): how `rnn-conformance mutants`
# counts the examples and seconds until a property first fails, and the shrinking after.
example_observers = []


class ExampleTimeout(Exception):
    """One example ran longer than the per-example timeout: a hang, reported as a crash."""


# Seconds one example may take before it counts as a hang (None: no limit). Set by the
# plugin's --example-timeout; works where SIGALRM does (the main thread on Unix).
example_timeout = None


@contextlib.contextmanager
def _bounded(seconds):
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def hang(signum, frame):
        raise ExampleTimeout(f"no result after {seconds} s (--example-timeout): the backend hangs or is too slow")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def use_ledger(ledger):
    """Install the run's known divergences (the plugin calls this; empty by default)."""
    global _ledger
    _ledger = ledger


def current_ledger():
    return _ledger


def contract_property(test):
    """Decorate a property body `test(target, example, ...)` (below @given).

    In a compiled mode the body also runs on the example's siblings (cells/resample.py):
    the same compiled configuration with new values, so the trace the example paid for
    checks several data sets. The drawn example runs first, so a failure Hypothesis can
    shrink is the one reported whenever the drawn example fails itself.
    """
    property_id = f"{test.__module__.rsplit('.', 1)[-1]}::{test.__name__}"

    @functools.wraps(test)
    def run(target, example, **drawn):
        example = target.applicable(example)
        data_sets = [example] + (siblings(example) if target.compiles else [])
        started, failed = time.perf_counter(), False
        try:
            for number, data_set in enumerate(data_sets):
                data_sets_run[target.id] += 1
                if _check_one(test, property_id, target, data_set, drawn, number, len(data_sets)) == "excused crash":
                    break  # a declared crash of this configuration: its siblings would repeat it
        except Divergence:
            failed = True
            raise
        finally:
            examples_run[target.id] += 1
            seconds_spent[target.id] += time.perf_counter() - started
            for observe in example_observers:
                observe(target, failed)

    return run


def _check_one(test, property_id, target, example, drawn, number, count):
    """One data set; a divergence the ledger does not excuse is raised, ready to replay.
    Returns "excused crash" after a declared divergence that is a crash."""
    try:
        with _bounded(example_timeout):
            test(target=target, example=example, **drawn)
    except Divergence as divergence:
        if _ledger.excuse(target, divergence, property_id) is None:
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
            raise
        if divergence.crash is not None:
            return "excused crash"
    return None
