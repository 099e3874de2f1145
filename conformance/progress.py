"""`--progress PATH`: one JSON line per finished test, read by rnn-conformance's live view.

A plugin of its own (loaded by conformance.plugin), so the command's view of a worker is
one small module: the first line says how many tests were collected, every later line
how many are done, how many examples ran and how many tests failed so far.
"""

import json

import pytest

from conformance import checks

_progress_of_this_run = {"done": 0, "failures": 0}
_progress_path = None


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption(
        "--progress", default=None, metavar="PATH", help="append one JSON line per finished test (for rnn-conformance)"
    )


def pytest_configure(config):
    global _progress_path
    _progress_path = config.getoption("--progress")


@pytest.hookimpl(trylast=True)  # after conformance.plugin dropped the tests without a target
def pytest_collection_modifyitems(config, items):
    if _progress_path:
        with open(_progress_path, "a") as out:
            out.write(json.dumps({"total": len(items)}) + "\n")


def pytest_runtest_logreport(report):
    if report.failed:
        _progress_of_this_run["failures"] += 1


def pytest_runtest_logfinish(nodeid, location):
    _progress_of_this_run["done"] += 1
    if _progress_path:
        line = {**_progress_of_this_run, "examples": sum(checks.examples_run.values())}
        with open(_progress_path, "a") as out:
            out.write(json.dumps(line) + "\n")
