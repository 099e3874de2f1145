"""Examples per property by cost: fewer in compiled modes (each checking five data sets),
more in cheap ones.

A pytest plugin (loaded by conformance.plugin). In a compiled mode every drawn example
pays for a trace or an XLA compilation (0.5-1 s on this 2-core machine, against a few
milliseconds for the call that reuses it) and then runs on its 4 siblings
(cells/resample.py): under `ci` a forward property in a compiled mode checked 125 data
sets for 25 compilations, and compilations were most of the default run's time. Under
the named budgets of profiles.COMPILED_EXAMPLES a compiled mode draws fewer examples
(under `ci` 6: 30 data sets, against the eager mode's 25); `thorough` and an explicit
`--max-examples` keep one count for every mode.

The count is Hypothesis' own `max_examples`, set for the duration of one test item with
profiles.applied (the settings object @given stored on the test), so shrinking, the
database and the health checks see an ordinary run. Properties with their own count (the
gradient properties, profiles.gradient_settings) keep it.

A cheap mode (Backend.cheap_modes: 50 examples/s or more in the default run, set from the
measured speed table, never from the wall time of this run) draws profiles.CHEAP_EXAMPLES
(ci: 50) for a forward property and profiles.CHEAP_GRADIENT_EXAMPLES (ci: 8) for a
gradient one: the same seconds buy twice the examples there.
"""

import pytest
from hypothesis import settings

from conformance.base import profiles


def compiled_examples(config, current_max_examples):
    """The max_examples a compiled mode's item runs with, or None to keep its own."""
    if config.getoption("--max-examples"):
        return None
    profile = getattr(settings, "_current_profile", None)
    budget = profiles.COMPILED_EXAMPLES.get(profile)
    if budget is None or current_max_examples not in (profiles.PROFILE_EXAMPLES[profile], profiles.BUILTIN_EXAMPLES.get(profile)):
        return None  # not a named budget, or a property with a count of its own (a gradient one)
    return min(budget, current_max_examples)


def cheap_examples(config, current_max_examples):
    """The max_examples a cheap mode's item runs with (Backend.cheap_modes), or None to
    keep its own: profiles.CHEAP_EXAMPLES for a forward property,
    profiles.CHEAP_GRADIENT_EXAMPLES for a gradient one."""
    if config.getoption("--max-examples"):
        return None
    profile = getattr(settings, "_current_profile", None)
    if current_max_examples == profiles.PROFILE_EXAMPLES.get(profile):
        return profiles.CHEAP_EXAMPLES.get(profile)
    if current_max_examples == profiles.GRADIENT_EXAMPLES.get(profile):
        return profiles.CHEAP_GRADIENT_EXAMPLES.get(profile)
    return None


def examples_for(config, target, current_max_examples):
    """The count an item of `target` runs with under the named budgets, or None."""
    if target.compiles:
        return compiled_examples(config, current_max_examples)
    if target.mode in target.backend.cheap_modes:
        return cheap_examples(config, current_max_examples)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    target = getattr(item, "callspec", None) and item.callspec.params.get("target")
    test = getattr(item, "obj", None)
    chosen = getattr(test, "_hypothesis_internal_use_settings", None)
    count = examples_for(item.config, target, chosen.max_examples) if chosen is not None and target is not None else None
    if count is None:
        return (yield)
    with profiles.applied(settings(chosen, max_examples=count), [test]):
        return (yield)
