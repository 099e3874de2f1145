"""Part `precision`: the measurement behind CONTRACT.md section 3's low-precision tolerance.

Runs the loops known to be correct (the reference computing in the example's own dtype,
fixed-tensorflow in its three modes) on float16 and bfloat16 examples and reports, per
loop and dtype, how much of the propagated spread each value's error needed (beyond the
2 u of the results' own rounding): the tolerance (conformance/contract/precision.py)
allows 1.0 of it, so every figure must stay below 1 and the margin is 1 / the figure.
Named only (`--parts precision`): 2,000 examples in eager mode, 400 compiled (each new
cell compiles); `--quick`: 100 and 20.
"""

import numpy as np
import optree
from hypothesis import HealthCheck, given, seed, settings

from benchmarks import not_installed
from cells.dtypes import UNIT_ROUNDOFF
from cells.strategies import low_precision_examples
from conformance.backends import get_backend
from conformance.contract import precision

LOOPS = (("reference", "eager"), ("fixed-tensorflow", "eager"), ("fixed-tensorflow", "function"), ("fixed-tensorflow", "xla"))


def needed_factor(got, want, u):
    """The largest (|got - want| - BASE u max(|want|, 1)) / spread over the values of one
    run: the share of the spread the error needed."""
    worst = 0.0
    for part in ("outputs", "last_output", "new_states"):
        leaves = zip(*(optree.tree_leaves(getattr(r, part)) for r in (got, want, want.allowed)))
        for g, w, allowed in leaves:
            g, w, allowed = (np.asarray(x, np.float64) for x in (g, w, allowed))
            floor = precision.BASE * u * np.maximum(np.abs(w), 1)
            spread = (allowed - floor) / precision.SPREAD_FACTOR
            over = np.abs(g - w) - floor
            with np.errstate(all="ignore"):
                ratio = np.where(over > 0, over / np.where(spread > 0, spread, np.inf), 0.0)
            if ratio.size:
                worst = max(worst, float(np.nanmax(np.where(np.isinf(ratio), 1e9, ratio))))
    return worst


def measure(name, mode, count):
    backend = get_backend(name)
    found = {}

    @seed(40)
    @settings(max_examples=count, deadline=None, database=None, phases=["generate"], suppress_health_check=list(HealthCheck))
    @given(example=low_precision_examples())
    def run(example):
        want = precision.expected_in_low_precision(example)
        factor = needed_factor(backend.run(example, mode), want, UNIT_ROUNDOFF[example.dtype])
        seen = found.setdefault(example.dtype, {"examples": 0, "needed": 0.0})
        seen["examples"] += 1
        seen["needed"] = max(seen["needed"], factor)

    run()
    return found


def run(backends, quick):
    rows = []
    for name, mode in LOOPS:
        if backends and name not in backends:
            continue
        missing = not_installed(get_backend(name))
        if missing:
            rows.append({"loop": f"{name} [{mode}]", "not_installed": missing})
            continue
        count = (100 if mode == "eager" else 20) if quick else (2000 if mode == "eager" else 400)
        for dtype, seen in sorted(measure(name, mode, count).items()):
            rows.append({"loop": f"{name} [{mode}]", "dtype": dtype, **seen})
    return {"rows": rows, "spread_factor": precision.SPREAD_FACTOR, "base_u": precision.BASE}


def table(result):
    lines = [f"precision: share of the spread the error needed (allowed: {result['spread_factor']}; "
             f"beyond {result['base_u']} u)", f"  {'loop':32} {'dtype':9} {'examples':>8} {'needed':>7}"]
    for row in result["rows"]:
        if "not_installed" in row:
            lines.append(f"  {row['loop']:32} NOT INSTALLED: {row['not_installed']}")
        else:
            lines.append(f"  {row['loop']:32} {row['dtype']:9} {row['examples']:>8} {row['needed']:>7.2f}")
    return "\n".join(lines)
