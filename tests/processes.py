"""Whether a process the suite's tests started still runs (shared by the process tests)."""

import os


def alive(pid):
    """True while `pid` runs: not gone, and not a zombie (one that ended, unreaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"  # (the name in parentheses may hold spaces)
