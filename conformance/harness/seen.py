"""The examples a worker ran, as facts: what `rnn-conformance soak` needs to propose a
condition that covers a group of failures without covering an example that passed.

With `--record-examples` (a pytest option; `soak` passes it to its workers) every example
a property runs (drawn, explicit or made while shrinking) is recorded as its facts
(conformance/known/facts.py), its outcome and how often it was seen, and each backend entry of
the JSON report gets them as `seen`: [{mode, property, outcome, facts, count}]. The
outcome is "pass" (every data set conformed), "excused" (a declared divergence excused
one) or "fail" (a new divergence). Counting identical facts once keeps a 20-example-per-
property worker's list at a few hundred entries.
"""

import json
from collections import Counter

import pytest

from conformance.harness import this_run
from conformance.known.facts import json_facts

_RECORDER = pytest.StashKey()


def pytest_addoption(parser):
    parser.getgroup("rnn-conformance").addoption(
        "--record-examples", action="store_true",
        help="record the facts of every example run in the JSON report (`seen`, per backend): what soak triages with",
    )


def pytest_configure(config):
    if config.getoption("--record-examples", default=False):
        recorder = Recorder()
        config.stash[_RECORDER] = recorder
        this_run.of(config).observers.append(recorder)


def recorder_of(config):
    """This run's Recorder, or None without --record-examples."""
    return config.stash.get(_RECORDER, None)


class Recorder:
    """An example observer (a RunState's observers, conformance/judge/run_state.py) counting (backend, mode, property,
    outcome, facts)."""

    def __init__(self):
        self.counts = Counter()

    def __call__(self, target, failed, property_id=None, example=None, excused=False):
        if example is None:
            return
        outcome = "fail" if failed else "excused" if excused else "pass"
        facts = json.dumps(json_facts(example), sort_keys=True)
        self.counts[target.backend.name, target.mode, property_id, outcome, facts] += 1

    def entries(self, backend_name):
        """What the report's backend entry carries as `seen`."""
        return [
            {"mode": mode, "property": prop, "outcome": outcome, "facts": json.loads(facts), "count": count}
            for (name, mode, prop, outcome, facts), count in sorted(self.counts.items())
            if name == backend_name
        ]
