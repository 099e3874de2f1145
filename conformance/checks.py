"""The wrapper every property wears: fit the example to the target's API, excuse only
declared divergences.

Kept apart from the properties so that each property module stays a plain list of
relations, and apart from the plugin so that properties run the same when called
directly (as the suite's own tests do).
"""

import functools
import time
from collections import Counter

from conformance.assertions import Divergence
from conformance.known import Ledger

_ledger = Ledger()

# Examples run and seconds spent per target id, harness included (reference, comparisons):
# the speed table of a run (examples per second per backend and mode).
examples_run = Counter()
seconds_spent = Counter()


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
        started = time.perf_counter()
        try:
            test(target=target, example=example, **drawn)
        except Divergence as divergence:
            if _ledger.excuse(target, divergence) is None:
                divergence.drawn = drawn  # the property's other draws, to replay it exactly
                # What the property was given: a metamorphic property's divergence names
                # the variant it ran, but replaying needs the input the variant came from.
                divergence.property_input = example
                divergence.property = f"{test.__module__.rsplit('.', 1)[-1]}::{test.__name__}"
                raise
        finally:
            examples_run[target.id] += 1
            seconds_spent[target.id] += time.perf_counter() - started

    return run
