"""One run of the properties, as one object: what it counted, whom it tells, what it excuses.

A property is a module-level function that Hypothesis calls with an example; the wrapper it
wears (conformance/judge/checks.py) needs the run it belongs to: the declared divergences
to excuse, the per-example timeout, the shrink budget, the counters the report's speed
table reads, the observers (coverage, soak's facts, the mutation hunt), a top-up run's
areas and a --cell run's cell. All of that is a `RunState`. Whoever starts a run makes one
and makes it current (`running`, or `begin`/`end` around a pytest run,
conformance/harness/this_run.py); outside any run, a property called directly counts into
a state of its own, so nothing one run counts leaks into another.
"""

import contextlib
from collections import Counter
from dataclasses import dataclass, field

from conformance.base.limits import DEFAULT_SHRINK_SECONDS, ShrinkBudget
from conformance.known.ledger import Ledger


@dataclass(eq=False)  # one run is equal only to itself
class RunState:
    ledger: Ledger = field(default_factory=Ledger)  # the run's declared divergences (empty: excuse nothing)
    example_timeout: float = None  # seconds one example may take before it is a hang (None: no limit)
    budget: ShrinkBudget = field(default_factory=lambda: ShrinkBudget(DEFAULT_SHRINK_SECONDS))
    # Called after every example as observer(target, failed, property_id=, example=, excused=):
    # how `rnn-conformance mutants` counts the examples and seconds until a property first
    # fails, how `soak` records the facts of the passing examples (conformance/harness/seen.py),
    # how coverage sees the areas. `excused`: a declared divergence excused one of its data sets.
    observers: list = field(default_factory=list)
    # A top-up run in progress (conformance/harness/covering.py): (target id, property id, areas wanted).
    steer: tuple = None
    # The probed UserCellStructure of a --cell run (or of a user-cell case being replayed).
    user_cell: object = None
    # Per target id: examples run and seconds spent, harness included (the report's speed
    # table); data sets checked (the drawn examples plus, in compiled modes, their siblings);
    # examples before a property's first failure in its test run (drawn) and after it
    # (shrinking, the final replay); calls the shrink limit let pass without running them,
    # and failures reported with their shrinking cut short.
    examples_run: Counter = field(default_factory=Counter)
    seconds_spent: Counter = field(default_factory=Counter)
    data_sets_run: Counter = field(default_factory=Counter)
    drawn_run: Counter = field(default_factory=Counter)
    shrink_run: Counter = field(default_factory=Counter)
    shrink_skipped: Counter = field(default_factory=Counter)
    shrink_cut_short: Counter = field(default_factory=Counter)


_OUTSIDE = RunState()  # where properties called outside any run count
_active = []  # the runs begun and not ended, innermost last


def current():
    """The run in progress (the innermost one begun), or the state of calls outside any run."""
    return _active[-1] if _active else _OUTSIDE


def begin(state):
    _active.append(state)
    return state


def end(state):
    if state in _active:
        _active.remove(state)


@contextlib.contextmanager
def running(state=None):
    """`with running() as run:` properties called in the body count into `run`."""
    state = begin(state if state is not None else RunState())
    try:
        yield state
    finally:
        end(state)
