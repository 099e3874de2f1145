"""Run limits: how long one failure may take.

Hypothesis shrinks a failure by calling the property again and again, each call as slow
as the backend; a broken loop then costs minutes of shrinking per property. Two limits:

- `--shrink-seconds S` (default 5): once a property first fails on a target in a test
  run, it may spend S seconds more on that run (Hypothesis' search for more bugs and its
  shrinking). Past that, every further call returns at once as passing, so Hypothesis
  ends with the smallest failure it has, which the final replay runs for real; the
  failure says that it may not be minimal. 0 reports the first failure unshrunk.
  Measured on the (B, 1)-mask mutant (13 properties fail, `ci`): unbounded 9,160 calls
  and 271 s on a Keras row (issue 15); on NumPy, 20 s: 268 s and 1,485 calls; 5 s: 70 s
  and 637 calls, the minimal examples still within B <= 4, T <= 6.
- a call that hit `--example-timeout` (a hang) is not shrunk at all: waiting the full
  timeout at every shrink step is what made a hanging loop take hours. The final replay
  runs it once more.

`ShrinkBudget` decides, per call, whether it runs; conformance.judge.checks asks the
run's (conformance/judge/run_state.py; `--shrink-seconds` is read by conformance/harness/this_run.py). It knows a
test run by the random generator Hypothesis gives every example of one run, and the
final replay by Hypothesis' build context (`is_final`). Derandomized runs stay exactly
as they were whenever the limit is not reached.
"""

import sys
import time
from dataclasses import dataclass

from hypothesis.control import current_build_context, currently_in_test_context

DEFAULT_SHRINK_SECONDS = 5.0

@dataclass
class _Run:
    """One Hypothesis test run of one property on one target."""

    identity: object  # the run's random generator (None outside the engine)
    failed_at: float = None  # perf_counter() of its first failure
    timed_out: bool = False  # one of its calls hit --example-timeout
    cut_short: bool = False  # the shrink limit let calls pass
    replayed: bool = False  # the final replay has begun


@dataclass(frozen=True)
class Call:
    """What to do with one call of a property: `run` it or let it pass, and how it counts."""

    run: bool
    shrinking: bool  # after the run's first failure (the final replay included)
    final: bool  # Hypothesis' final replay (or an explicit example): always run
    state: _Run = None


class ShrinkBudget:
    """Per (property, target): where its current test run stands. `seconds`: how long a
    property may go on after its first failure in a test run (None: no limit)."""

    def __init__(self, seconds=DEFAULT_SHRINK_SECONDS):
        self.seconds = seconds
        self._runs = {}

    def call(self, key):
        """The `Call` for the property call about to start under `key`."""
        if not currently_in_test_context():
            return Call(run=True, shrinking=False, final=True)  # called directly: just run it
        context = current_build_context()
        identity = getattr(context.data, "_random", None)
        state = self._runs.get(key)
        if context.is_final and identity is None:  # an explicit @example: runs before the engine
            return Call(run=True, shrinking=False, final=True)
        if state is None or state.identity is not identity or (state.replayed and not context.is_final):
            state = self._runs[key] = _Run(identity)  # a new test run (a replay ends the previous one)
        shrinking = state.failed_at is not None
        if context.is_final:
            state.replayed = True
            return Call(run=True, shrinking=shrinking, final=True, state=state)
        if shrinking and (state.timed_out or self._spent(state)):
            state.cut_short = state.cut_short or not state.timed_out
            _stop_the_shrinker()
            return Call(run=False, shrinking=True, final=False, state=state)
        return Call(run=True, shrinking=shrinking, final=False, state=state)

    def _spent(self, state):
        return self.seconds is not None and time.perf_counter() - state.failed_at >= self.seconds

    @staticmethod
    def failed(call, timed_out):
        """Note that the call failed (`timed_out`: it hit --example-timeout)."""
        if call.state is None:
            return
        if call.state.failed_at is None:
            call.state.failed_at = time.perf_counter()
        call.state.timed_out = call.state.timed_out or timed_out


def _stop_the_shrinker():
    """Tell Hypothesis' shrinker, if one is calling, that it has stalled (best effort).

    Calls that pass make it give up by itself, but only after 200 of them, each paying
    for drawing its example (about 25 ms here): seconds more per failure. Its `max_stall`
    (calls without progress it tolerates) set to 0 makes it stop at its next check. Found
    on the stack, as Hypothesis offers no hook; if it is not found, nothing changes.
    """
    frame = sys._getframe(1)
    for _ in range(100):
        if frame is None:
            return
        owner = frame.f_locals.get("self")
        if type(owner).__name__ == "Shrinker" and isinstance(getattr(owner, "max_stall", None), int):
            owner.max_stall = 0
            return
        frame = frame.f_back


def cut_short_note(call, seconds):
    """The note a replayed failure gets when shrinking it was stopped (after `seconds`), or None."""
    if call.state is None or not call.final:
        return None
    if call.state.timed_out:
        return "shrinking stopped after an example hit --example-timeout: this example may not be minimal"
    if call.state.cut_short:
        return (f"shrinking stopped after {seconds:g} s (--shrink-seconds): "
                "this example may not be minimal")
    return None
