"""Mutation analysis: run the suite's properties on every mutant of the catalog.

A mutant is killed as soon as one property fails on it, as `pytest -x` would stop: the
properties run in `PROPERTY_ORDER` (broad agreement first, then the metamorphic
relations), each under the current Hypothesis profile with shrinking, on the mutant as
an eager NumPy backend. A gradient mutant (conformance/research/mutants/gradient_catalog.py)
brings its own differentiating torch backend and is hunted by the gradient properties
instead, in `GRADIENT_PROPERTY_ORDER` (G1, G3, G4; each also checks G2). For each mutant this records the property and rule that killed
it, the examples and seconds until the first failing example (counted over every
property run on that mutant so far), the seconds Hypothesis then spent shrinking, and
the shrunk minimal example. The score is killed / total; a survivor fails the run.

A kill is "by its rule" when the failure names the rule the mutant's bug breaks, or shows
the way the contract reports that bug (the mutant's `shows_as`: a crash, or the rule an
R14 bug's results break). When the first kill names another rule (the broad agreement
property names the likeliest rule from where values differ), the hunt goes on through the
remaining properties until one fails by the mutant's rule, and records which; a mutant no
property names by its rule fails the run too.
"""

import contextlib
import statistics
import time
from dataclasses import dataclass

from hypothesis import settings

from conformance.judge import checks
from conformance.judge import coverage
from conformance.judge import run_state
from conformance.harness import covering
from conformance.base import profiles
from conformance.judge.assertions import Divergence, divergences_in
from conformance.backends.numpy_function import NumpyFunctionBackend
from conformance.properties import BUILTIN_PROPERTIES, FUNCTION_PROPERTIES, GRADIENT_PROPERTIES, LAYER_PROPERTIES
from conformance.judge.targets import Target

PROPERTY_ORDER = FUNCTION_PROPERTIES
GRADIENT_PROPERTY_ORDER = GRADIENT_PROPERTIES
LAYER_PROPERTY_ORDER = LAYER_PROPERTIES
BUILTIN_PROPERTY_ORDER = BUILTIN_PROPERTIES


@dataclass
class Hunt:
    """What the suite did to one mutant."""

    mutant: object  # conformance.research.mutants.Mutant
    kind: str = "forward"  # or "gradient", "layer", "builtin": which properties hunted it
    killed: bool = False
    property: str = None  # "module::test" that killed it
    rule: str = None  # the rule the failure named
    examples_to_kill: int = None  # examples run until the first failing one, that one included
    seconds_to_kill: float = None
    seconds_to_shrink: float = None
    explicit: bool = False  # killed by one of the property's @example cases (run first, never shrunk)
    divergence: Divergence = None  # the shrunk failure (its example is the minimal one)
    examples_run: int = 0
    seconds: float = 0.0
    by_its_rule: str = None  # "module::test" of the first property whose failure named the bug's rule


class FirstFailureClock:
    """An example observer (a RunState's observers, conformance/judge/run_state.py): counts a target's examples and
    notes when one first fails, as (examples so far, seconds since the clock started)."""

    def __init__(self, target):
        self.target, self.started = target, time.perf_counter()
        self.examples, self.first_failure = 0, None

    def __call__(self, target, failed, **details):
        if target is not self.target:
            return
        self.examples += 1
        if failed and self.first_failure is None:
            self.first_failure = (self.examples, time.perf_counter() - self.started)


def mutant_target(mutant):
    """The mutant as a backend in its first mode: its own (a gradient mutant's torch
    backend, a layer mutant's in-process layer), or an eager NumPy one."""
    backend = getattr(mutant, "backend", None) or NumpyFunctionBackend(f"mutant:{mutant.name}", mutant.rnn)
    return Target(backend, backend.modes[0])


def properties_for(target):
    """The layer properties for a layer, the gradient ones for a backend that
    differentiates, the forward ones otherwise."""
    if target.backend.level == "layer":
        return LAYER_PROPERTY_ORDER
    if target.backend.level == "builtin":  # issue 41: a built-in layer's own path
        return BUILTIN_PROPERTY_ORDER
    return GRADIENT_PROPERTY_ORDER if target.backend.differentiates else PROPERTY_ORDER


def failed_by_its_rule(mutant, divergence):
    """The failure names the mutant's rule, or shows the way the contract reports its bug."""
    shows_as = getattr(mutant, "shows_as", ())
    return divergence.rule in (mutant.rule, *shows_as) or (divergence.crash is not None and "crash" in shows_as)


def hunt(mutant, chosen_settings=None, properties=None):
    """Run `properties` (None: `properties_for` the mutant's target) on `mutant` until one
    fails by the mutant's rule; the Hunt says which failed first, how fast, and which
    named the rule. Each property runs its sample, then the top-up runs that give it an
    example in every area it missed (conformance/harness/covering.py), as under pytest.

    `chosen_settings` replaces the settings the properties were imported with: one settings
    object for all, or a function of the property giving its own; None keeps them.
    """
    target = mutant_target(mutant)
    properties = properties_for(target) if properties is None else properties
    clock, seen = FirstFailureClock(target), coverage.Coverage()
    kind = target.backend.level if target.backend.level in ("layer", "builtin") else "gradient" if target.backend.differentiates else "forward"
    result = Hunt(mutant, kind=kind)
    observers = run_state.current().observers
    observers.extend([clock, seen])
    try:
        for property_test in properties:
            chosen = chosen_settings if chosen_settings is None or isinstance(chosen_settings, settings) else chosen_settings(property_test)
            examples_before = clock.examples
            try:
                with contextlib.nullcontext() if chosen is None else profiles.applied(chosen, [property_test]):
                    property_test(target=target)
                    covering.top_up(lambda: property_test(target=target), property_test, target, checks.property_id_of(property_test), seen)
            except (Divergence, BaseExceptionGroup) as failure:
                if not divergences_in(failure):
                    raise  # the harness failed, not the mutant
                if not result.killed:
                    _record_kill(result, property_test, failure, clock, examples_before)
                if any(failed_by_its_rule(mutant, d) for d in divergences_in(failure)):
                    result.by_its_rule = checks.property_id_of(property_test)
                    break
    finally:
        observers.remove(clock)
        observers.remove(seen)
    result.examples_run, result.seconds = clock.examples, time.perf_counter() - clock.started
    return result


def _record_kill(result, property_test, failure, clock, examples_before):
    ended = time.perf_counter() - clock.started
    first = divergences_in(failure)[0]
    result.killed, result.divergence, result.rule = True, first, first.rule
    result.property = checks.property_id_of(property_test)
    result.examples_to_kill, result.seconds_to_kill = clock.first_failure or (clock.examples, ended)
    result.seconds_to_shrink = ended - result.seconds_to_kill
    explicit_cases = len(getattr(property_test, "hypothesis_explicit_examples", ()))
    result.explicit = result.examples_to_kill - examples_before <= explicit_cases


def score(hunts):
    """(killed, total)."""
    return sum(h.killed for h in hunts), len(hunts)


def by_their_rule(hunts):
    """How many mutants some property failed by the rule their bug breaks."""
    return sum(h.by_its_rule is not None for h in hunts)


def summary(hunts):
    """Median and worst examples-to-kill, seconds-to-kill and seconds-to-shrink over the killed."""
    killed = [h for h in hunts if h.killed]
    figures = {}
    for field in ("examples_to_kill", "seconds_to_kill", "seconds_to_shrink"):
        values = [getattr(h, field) for h in killed]
        if values:
            worst = max(killed, key=lambda h: getattr(h, field))
            figures[field] = {"median": statistics.median(values), "worst": max(values), "worst_mutant": worst.mutant.name}
    return figures
