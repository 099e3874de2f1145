"""`--progress PATH`: JSON lines about a worker's tests, read by rnn-conformance's live view.

A plugin of its own (loaded by conformance.plugin), so the command's view of a worker is
one small module. The first line says how many tests were collected ({"total"}); each
test then writes {"started": nodeid} when it starts (so that the command can say which
test a worker it had to kill was in) and {"done", "examples", "failures"} when it ends.
"""

import json

import pytest

from conformance.harness import this_run


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption(
        "--progress", default=None, metavar="PATH", help="append JSON lines about each test (for rnn-conformance)"
    )


def pytest_configure(config):
    path = config.getoption("--progress")
    if path:
        config.pluginmanager.register(Progress(path, config), "rnn-conformance-progress")


class Progress:
    """The lines of one run, appended to `path`."""

    def __init__(self, path, config):
        self.path, self.config = path, config
        self.counts = {"done": 0, "failures": 0}

    def _write(self, line):
        with open(self.path, "a") as out:
            out.write(json.dumps(line) + "\n")

    @pytest.hookimpl(trylast=True)  # after conformance.plugin dropped the tests without a target
    def pytest_collection_modifyitems(self, config, items):
        self._write({"total": len(items)})

    def pytest_runtest_logstart(self, nodeid, location):
        self._write({"started": nodeid})

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.counts["failures"] += 1

    def pytest_runtest_logfinish(self, nodeid, location):
        self.counts["done"] += 1
        self._write({**self.counts, "examples": sum(this_run.of(self.config).examples_run.values())})
