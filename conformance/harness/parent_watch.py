"""A worker ends when the command that started it is gone (a pytest plugin).

The command starts each worker in a session of its own (so a Ctrl-C reaches the command,
which ends its workers in order); if the command itself is killed (SIGKILL, an OOM kill)
nothing would end them. So the command names itself in RNN_CONFORMANCE_PARENT_PID, and a
worker whose parent is that process watches it: once the worker has been handed to
another parent, it ends its own process group (itself, its layer workers, whatever the
code under test started) at once.
"""

import os
import signal
import threading
import time

from conformance.base.environments import PARENT_VARIABLE

POLL_SECONDS = 1.0


def pytest_configure(config):
    parent = os.environ.get(PARENT_VARIABLE)
    if parent and parent.isdigit() and int(parent) == os.getppid():
        threading.Thread(target=_watch, args=(int(parent),), name="rnn-conformance-parent-watch", daemon=True).start()


def _watch(parent):
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os.killpg(os.getpgrp(), signal.SIGKILL)
