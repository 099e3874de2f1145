"""--impl loops that misbehave in ways a worker must survive and the command must report.

`rnn` is correct (numpy_rnn.py's, copied beside this file); the others:
- `interrupts`: raises KeyboardInterrupt (a crash of the loop, not "not installed");
- `hangs_catching_everything`: sleeps in a loop that catches Exception, so the
  per-example timeout (an Exception) is swallowed: only --backend-timeout ends it;
- `ends_the_process`: calls os._exit(0) during a test: its worker leaves no report.
Importing this module appends the importing process's id to $IMPORTED_BY when set, so a
test can check that the command itself never imports it.
"""

import os
import time

from numpy_rnn import rnn  # noqa: F401 - the correct loop, for `misbehaving:rnn`

if os.environ.get("IMPORTED_BY"):
    with open(os.environ["IMPORTED_BY"], "a") as out:
        out.write(f"{os.getpid()}\n")


def interrupts(*args, **kwargs):
    raise KeyboardInterrupt


def hangs_catching_everything(*args, **kwargs):
    while True:
        try:
            time.sleep(0.05)
        except Exception:  # noqa: BLE001 - the point: it swallows the example timeout
            pass


def ends_the_process(*args, **kwargs):
    os._exit(0)
