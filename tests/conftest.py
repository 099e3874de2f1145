"""Shared fixtures of the suite's own tests, and the guard of their `e2e` marker: a test here
not marked e2e that starts a process (subprocess, multiprocessing, fork) fails, so that
`pytest tests -m "not e2e"`, the fast inner loop, starts none."""

import contextlib
import multiprocessing.process
import os
import platform
import subprocess

import pytest
from hypothesis import Phase, settings

from conformance.base import profiles
from conformance.properties import ALL_PROPERTIES

pytest_plugins = ["pytester"]


NO_SHRINKING = [Phase.explicit, Phase.reuse, Phase.generate]


@pytest.fixture
def without_shrinking():
    """Run every property under the current profile minus shrinking, then restore it.

    Tests that only need to see a property fail do not pay for a minimal example.
    (Hypothesis fixed each property's settings at import, so they are swapped here.)
    """
    with profiles.applied(settings(settings.default, phases=NO_SHRINKING), ALL_PROPERTIES):
        yield


@pytest.fixture
def ci_profile_without_shrinking():
    """The `ci` examples, derandomized as in CI, without shrinking."""
    with profiles.applied(profiles.settings_for("ci", phases=NO_SHRINKING), ALL_PROPERTIES):
        yield


class StartsAProcess(RuntimeError):
    """Raised where a test not marked e2e would start a process."""


# Every way a process is started goes through one of these (subprocess.run, check_output,
# os.popen and pytester.runpytest_subprocess through Popen; ProcessPoolExecutor through
# BaseProcess.start).
PROCESS_STARTS = [(subprocess.Popen, "_execute_child"), (multiprocessing.process.BaseProcess, "start")] + [
    (os, name) for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system") if hasattr(os, name)]

# The standard library's platform.platform() (in every report) asks `uname -p` once per
# process: asked here, before any test, it is no process of the test that builds a report.
platform.uname().processor


@contextlib.contextmanager
def no_process_started(nodeid):
    """Within: every process start raises StartsAProcess; yields the list of those refused."""
    refused = []

    def refuse(what):
        def start(*args, **kwargs):
            refused.append(what)
            raise StartsAProcess(f"{nodeid} starts a process ({what}): mark it @pytest.mark.e2e")
        return start

    saved = [(owner, name, owner.__dict__[name]) for owner, name in PROCESS_STARTS]
    for owner, name, _ in saved:
        setattr(owner, name, refuse(f"{getattr(owner, '__name__', owner)}.{name}"))
    try:
        yield refused
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def guarded(item):
    """A runtest phase of `item`; unless it is marked e2e, one that starts no process."""
    if item.get_closest_marker("e2e"):
        return (yield)
    with no_process_started(item.nodeid) as refused:
        result = yield
    if refused:  # refused, and the test caught it: still a test that starts a process
        raise StartsAProcess(f"{item.nodeid} starts a process ({refused[0]}): mark it @pytest.mark.e2e")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    return (yield from guarded(item))
