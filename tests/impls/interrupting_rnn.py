"""Loops that raise or wait instead of returning, for the suite's tests of run limits.

`rnn_raises_keyboard_interrupt` raises KeyboardInterrupt itself (no Ctrl-C): a crash of
the loop, reported as one. `rnn_sleeps` waits a minute (a loop that hangs), after
creating the file $SLEEPING_MARKER when set, so a test can send a real SIGINT once the
loop runs and see the run stop.
"""

import os
import time


def rnn_raises_keyboard_interrupt(step_function, inputs, initial_states, **options):
    raise KeyboardInterrupt


def rnn_sleeps(step_function, inputs, initial_states, **options):
    if os.environ.get("SLEEPING_MARKER"):
        open(os.environ["SLEEPING_MARKER"], "w").close()
    time.sleep(60)
    raise AssertionError("slept a minute: nothing interrupted the loop")
