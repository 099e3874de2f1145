"""The pytest side of the ledger: which known-divergence files a run uses, loaded once.

`--known-divergences FILE` replaces the shipped file, `--extra-known FILE` (repeatable)
layers a project's own entries on it, `--ignore-known` uses none. The entries are the
run's `Ledger` (its RunState's, conformance/judge/run_state.py), consulted when a property fails; the replay of
each one's case is conformance/properties/test_known_divergences.py.
"""

from pathlib import Path

import pytest

from conformance.known import ledger as known
from cells.case_schema import IMPL_PREFIX
from conformance.harness import this_run
from conformance.judge.vocabulary import vocabulary


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption("--known-divergences", default=str(known.DEFAULT_FILE),
                    help="the known-divergence file (default: the one shipped in the conformance package)")
    group.addoption("--extra-known", action="append", default=[], metavar="FILE",
                    help="a known-divergence file layered on the one above (a project's own entries, ids of their own); "
                    "repeatable")
    group.addoption("--ignore-known", action="store_true",
                    help="excuse no declared divergence and do not check that they still reproduce")


def pytest_configure(config):
    entries = []
    if not config.getoption("--ignore-known"):
        try:
            impl = config.getoption("--impl", default=None)
            names = vocabulary([IMPL_PREFIX + impl] if impl else [])
            entries = known.load_layers([config.getoption("--known-divergences"), *config.getoption("--extra-known")], names)
        except known.KnownDivergenceError as error:
            raise pytest.UsageError(str(error)) from None
    this_run.of(config).ledger = known.Ledger(entries)


def known_files(config):
    """The known-divergence files this run used, layered in order (none with --ignore-known)."""
    if config.getoption("--ignore-known"):
        return []
    return [str(Path(p).resolve()) for p in [config.getoption("--known-divergences"), *config.getoption("--extra-known")]]
