"""Telling a KeyboardInterrupt the backend raised from the user's Ctrl-C.

A loop under test may raise KeyboardInterrupt itself (a bug, or code that turns its own
errors into one); that is a crash of the loop, reported like any other. A real Ctrl-C
must still stop the run. Python raises KeyboardInterrupt for SIGINT from its default
handler; `watch()` puts a handler in front of it that counts the signals that arrived,
so a KeyboardInterrupt raised while no SIGINT arrived is the backend's own.
"""

import signal
import threading


class _Watch:
    """The process's SIGINT count since the handler was installed, and the handler before it."""

    received = 0
    previous = None


def _on_sigint(signum, frame):
    _Watch.received += 1
    if callable(_Watch.previous):
        return _Watch.previous(signum, frame)
    if _Watch.previous == signal.SIG_IGN:
        return None
    raise KeyboardInterrupt


def watch():
    """Install the counting handler (once; in the main thread only, where signals arrive).
    Returns the number of SIGINTs received so far."""
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGINT)
        if current is not _on_sigint:
            _Watch.previous = current
            signal.signal(signal.SIGINT, _on_sigint)
    return _Watch.received


def raised_by_backend(error, received_before):
    """True for a KeyboardInterrupt no SIGINT caused (none arrived since `received_before`):
    the code under test raised it. Any other BaseException is not an interrupt at all."""
    return not isinstance(error, KeyboardInterrupt) or _Watch.received == received_before
