"""`--progress PATH`: JSON lines about a worker's tests, read by rnn-conformance's live view.

A plugin of its own (loaded by conformance.plugin), so the command's view of a worker is
one small module. The first line says how many tests were collected ({"total"}); each
test then writes {"started": nodeid} when it starts (so that the command can say which
test a worker it had to kill was in) and {"done", "examples", "failures"} when it ends.
"""

import json

import pytest

from conformance.judge import checks

_progress_of_this_run = {"done": 0, "failures": 0}
_progress_path = None


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption(
        "--progress", default=None, metavar="PATH", help="append JSON lines about each test (for rnn-conformance)"
    )


def pytest_configure(config):
    global _progress_path
    _progress_path = config.getoption("--progress")


def _write(line):
    if _progress_path:
        with open(_progress_path, "a") as out:
            out.write(json.dumps(line) + "\n")


@pytest.hookimpl(trylast=True)  # after conformance.plugin dropped the tests without a target
def pytest_collection_modifyitems(config, items):
    _write({"total": len(items)})


def pytest_runtest_logstart(nodeid, location):
    _write({"started": nodeid})


def pytest_runtest_logreport(report):
    if report.failed:
        _progress_of_this_run["failures"] += 1


def pytest_runtest_logfinish(nodeid, location):
    _progress_of_this_run["done"] += 1
    _write({**_progress_of_this_run, "examples": sum(checks.examples_run.values())})
