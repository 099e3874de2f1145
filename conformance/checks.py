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

from conformance.assertions import Divergence
from conformance.known import Ledger

_ledger = Ledger()

# Examples run and seconds spent per target id, harness included (reference, comparisons):
# the speed table of a run (examples per second per backend and mode).
examples_run = Counter()
seconds_spent = Counter()

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
    """Decorate a property body `test(target, example, ...)` (below @given)."""

    @functools.wraps(test)
    def run(target, example, **drawn):
        example = target.applicable(example)
        started, failed = time.perf_counter(), False
        try:
            with _bounded(example_timeout):
                test(target=target, example=example, **drawn)
        except Divergence as divergence:
            property_id = f"{test.__module__.rsplit('.', 1)[-1]}::{test.__name__}"
            if _ledger.excuse(target, divergence, property_id) is None:
                failed = True
                divergence.drawn = drawn  # the property's other draws, to replay it exactly
                # What the property was given: a metamorphic property's divergence names
                # the variant it ran, but replaying needs the input the variant came from.
                divergence.property_input = example
                divergence.property = property_id
                raise
        finally:
            examples_run[target.id] += 1
            seconds_spent[target.id] += time.perf_counter() - started
            for observe in example_observers:
                observe(target, failed)

    return run
