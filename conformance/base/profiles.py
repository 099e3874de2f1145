"""The Hypothesis profiles of the suite: `ci` (derandomized), `dev`, `thorough`, and `gpu`
(derandomized, small: `rnn-conformance gpu`'s built-in rows, conformance/command/gpu_command.py).

What a sample contains, by construction. Each property's sample is its profile's count of
drawn examples (PROFILE_EXAMPLES; fewer in a compiled mode, more in a cheap one, fewer for
a gradient property: conformance/base/budgets.py), then one top-up example for each area of the
contract the property applies to that no drawn example was in (conformance/harness/covering.py,
conformance/judge/coverage.py). Drawn first, so the `ci` sample is what it always was and every
declared divergence it met is still met; topped up after, so "passed" means "passed with
an example in every area", whatever the budget. An area no top-up can reach is reported
uncovered and the run is incomplete (exit status 6), never a pass.

Registered on import, shared by the pytest plugin and by `rnn-conformance mutants`,
which runs the properties outside pytest.

Hypothesis fixes a test's settings when @given decorates it, that is when its module is
imported: loading a profile afterwards changes nothing for properties already imported.
Under pytest the plugin loads the profile before collection, so that is enough; code
that runs imported properties under other settings (the mutants command, the suite's
own tests) uses `applied`.
"""

import contextlib
import os

from hypothesis import HealthCheck, settings


def _draw_no_constants_from_local_source():
    """Keep the derandomized examples independent of which of our modules are loaded.

    Hypothesis (since 6.131) also draws numbers it finds in the source of "local" modules,
    those outside site-packages: this package itself in an editable install. That pool
    grows as modules are imported, so the `ci` sample changed with any edit to a literal
    anywhere in the package, between an editable and a regular install, and within a run
    once a failure imported the reproducer modules. Hypothesis has no setting for it; the
    pool it reads is emptied here (tests/base/test_profiles.py checks that this still works).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # a Hypothesis without local constants
        return False
    if not hasattr(providers, "_get_local_constants"):
        return False
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    return True


LOCAL_CONSTANTS_DISABLED = _draw_no_constants_from_local_source()

PROFILE_EXAMPLES = {"ci": 25, "dev": 20, "thorough": 200, "gpu": 10}
# What a forward property draws in a compiled mode under these profiles (conformance/
# budgets.py): each drawn example pays for a compilation and checks 5 data sets (itself
# and its 4 siblings), so 6 under `ci` check 30 data sets, 1.2 times the eager mode's 25
# (8 until the OpenVINO rows joined the default run: 615 s on a slow day, over its 600 s).
# `thorough` draws 200 everywhere.
COMPILED_EXAMPLES = {"ci": 6, "dev": 6, "gpu": 4}
# What a property draws in a cheap mode (Backend.cheap_modes: 50 examples/s or more in the
# default run, NumPy and torch loops) under these profiles: twice the eager count, the
# same few seconds a slow row's 25 cost. Forward, then gradient properties.
CHEAP_EXAMPLES = {"ci": 50, "dev": 40}
CHEAP_GRADIENT_EXAMPLES = {"ci": 8, "dev": 8}
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    derandomize=True,  # the same examples on every run and machine
    database=None,
    max_examples=PROFILE_EXAMPLES["ci"],
    deadline=None,  # first calls include tracing/compilation
    print_blob=True,  # every failure prints a @reproduce_failure line
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "dev", max_examples=PROFILE_EXAMPLES["dev"], deadline=None, print_blob=True, suppress_health_check=_SLOW_IS_FINE
)
settings.register_profile(
    "thorough",
    max_examples=PROFILE_EXAMPLES["thorough"],
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)


# `gpu`: the built-in rows whose framework sees a GPU (rnn-conformance gpu: at most three,
# builtin-keras-tensorflow, -torch, -jax), the whole run under 10 minutes (issue 41).
# Derandomized like `ci`, so that every GPU machine checks the same sample and a finding
# on one replays on another. The arithmetic, at the speeds measured on the 2-core CPU
# machine (docs/measurements-2026-12-01-to-03.md: the slowest layer row, layer-keras-jax,
# 1.4 examples/s called, 0.8 predicted, a jit compilation each), a built-in example counted
# as running the layer twice (it runs once, on the path it drew: an upper bound), 1.4 s
# called, 2.5 s predicted, a gradient
# example 4x that (budgets: 3-5x a forward one), 5.6 s and 10 s. A forward property:
# (10 + 5 top-ups) x 1.4 s called + (COMPILED_EXAMPLES: 4 + 5) x 2.5 s predicted
# = 44 s; a gradient property: (3 + 5) x 5.6 s + (3 + 5) x 10 s = 125 s. A built-in module
# of 4 forward properties and 1 gradient property: 4 x 44 + 125 = 301 s, plus 30 s to start
# the worker and import the framework: 331 s for the slowest row. The rows run side by side
# (--jobs is the number of CPUs: a GPU machine has more than three), so the run takes its
# slowest row: 5.5 minutes, 4.5 left for a slower machine or a row that shrinks a failure
# (--shrink-seconds 5 per property). Measure it on a GPU and record it when the rows exist.
settings.register_profile(
    "gpu",
    derandomize=True,
    database=None,
    max_examples=PROFILE_EXAMPLES["gpu"],
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)

# A gradient example costs several forward ones (a backward pass; in compiled modes a
# value-and-grad trace per configuration, 3-5x a forward trace): under the named profiles
# the gradient properties draw this many examples (each with its siblings in compiled
# modes). An explicit --max-examples applies to every property alike.
GRADIENT_EXAMPLES = {"ci": 4, "dev": 4, "thorough": 100, "gpu": 3}


# The built-in rows (issue 41) share the default run's budget: seven rows whose every
# property would otherwise draw what a custom-cell layer row's does. Under these profiles a
# built-in property draws this many examples (a compiled mode min(this, COMPILED_EXAMPLES),
# its gradient property GRADIENT_EXAMPLES), and no built-in mode is cheap; the top-ups still
# give each property an example in every area it can reach. With four modes per row (own and
# generic path, each called and predicted) the default run took 703 s at 8 and 693 s at 3:
# the rows' fixed costs dominated (a top-up run per area, property and mode; the replays of
# their entries in every mode). Two modes, each example on a drawn path, halved those:
# docs/measurements.md.
BUILTIN_EXAMPLES = {"ci": 3, "dev": 6}


def builtin_settings():
    """The settings of a built-in row's forward property, fixed when its module is imported:
    the profile's, with BUILTIN_EXAMPLES' count (the `gpu` and `thorough` profiles keep theirs)."""
    current = getattr(settings, "_current_profile", None)
    if current in BUILTIN_EXAMPLES:
        return settings(settings.default, max_examples=BUILTIN_EXAMPLES[current])
    return settings.default


def gradient_settings():
    """The settings of a gradient property, fixed when its module is imported (after the
    plugin loaded the run's profile): the profile's, with GRADIENT_EXAMPLES' count."""
    current = getattr(settings, "_current_profile", None)
    if current in GRADIENT_EXAMPLES:
        return settings(settings.default, max_examples=GRADIENT_EXAMPLES[current])
    return settings.default


def default_profile():
    """`ci` under CI (the environment variable CI is set), else `dev`."""
    return "ci" if os.environ.get("CI") else "dev"


def settings_for(profile, max_examples=None, **changes):
    """The settings of a registered profile, with max_examples and other fields overridden."""
    if max_examples:
        changes["max_examples"] = max_examples
    return settings(settings.get_profile(profile), **changes)


@contextlib.contextmanager
def applied(chosen, tests):
    """Run already-decorated Hypothesis `tests` under the `chosen` settings for a while.

    It swaps the settings @given stored on each test (the attribute Hypothesis' own
    @settings decorator sets) and restores them on exit.
    """
    saved = [(test, test._hypothesis_internal_use_settings) for test in tests]
    try:
        for test, _ in saved:
            test._hypothesis_internal_use_settings = chosen
        yield
    finally:
        for test, previous in saved:
            test._hypothesis_internal_use_settings = previous
