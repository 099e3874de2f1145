"""The run state of a pytest run (a pytest plugin, loaded by conformance.plugin).

Each plugin of the harness asks `of(config)` for the run's RunState
(conformance/judge/run_state.py): the first to ask makes it and makes it current, so the
plugins' pytest_configure hooks may run in any order; it ends with the run. This plugin
also reads the run limit the state carries, `--shrink-seconds` (conformance/base/limits.py).
"""

import math

import pytest

from conformance.base.limits import DEFAULT_SHRINK_SECONDS, ShrinkBudget
from conformance.judge import run_state

_RUN = pytest.StashKey()


def of(config):
    """The RunState of the pytest run `config` belongs to (made and begun on first ask)."""
    if _RUN not in config.stash:
        config.stash[_RUN] = run_state.begin(run_state.RunState())
    return config.stash[_RUN]


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption(
        "--shrink-seconds",
        type=float,
        default=DEFAULT_SHRINK_SECONDS,
        metavar="S",
        help="seconds a property may spend after its first failure on a target (looking for more bugs, "
        f"shrinking) before it reports the smallest failure found so far (default {DEFAULT_SHRINK_SECONDS:g}; "
        "0: no shrinking; inf: no limit)",
    )


def pytest_configure(config):
    seconds = config.getoption("--shrink-seconds")
    if seconds is None or math.isnan(seconds) or seconds < 0:
        raise pytest.UsageError(f"--shrink-seconds must be 0 or more (inf for no limit), got {seconds}")
    of(config).budget = ShrinkBudget(None if math.isinf(seconds) else seconds)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _RUN in config.stash:
        run_state.end(config.stash[_RUN])
