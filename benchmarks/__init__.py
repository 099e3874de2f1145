"""Benchmarks of the suite itself: `python -m benchmarks.bench` (see bench.py).

Shared helpers live here so every part times and skips backends the same way.
"""

import statistics
import time


def median_seconds(call, repeats):
    """Median wall time of `repeats` calls: robust to one slow call (GC, another process)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def not_installed(backend):
    """'not installed (missing X)' when the backend cannot run here, else None: never measured."""
    missing = backend.missing_package()
    return None if missing is None else f"not installed (missing {missing})"


def selected(names, chosen):
    """The names kept by --backends (all when it was not given), in their own order."""
    return [name for name in names if chosen is None or name in chosen]


def failure_reason(error):
    """Why a backend could not be measured, in one line. A missing module counts as not
    installed: keras-numpy passes `missing_package` under Keras 2 yet needs Keras 3's modules."""
    if isinstance(error, ModuleNotFoundError):
        return f"not installed (missing {error.name})"
    return f"error: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
