"""Part `growth`: the cost of one example against T and against B, per framework.

A loop should cost a + b*T (and grow about linearly in B once B is large enough to
matter); an exponent well above 1 means a loop that copies or retraces per step.
"""

import math

import numpy as np

from benchmarks import failure_reason, median_seconds, not_installed, selected
from cells.example import Example, Options
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec
from conformance.backends import get_backend

# One target per framework: its most optimised mode.
GROWTH_TARGETS = (
    ("reference", "eager"),
    ("keras-tensorflow", "function"),
    ("keras-jax", "jit"),
    ("keras-torch", "eager"),
    ("keras-numpy", "eager"),
    ("keras2-theano", "compiled"),
)
FULL_SIZES, QUICK_SIZES = tuple(2**i for i in range(9)), (1, 2, 4, 8, 16)
FIXED_T, FIXED_B = 8, 1
INPUT_SIZE, STATE_SIZE, HIDDEN = 4, 4, 8


def fixed_cell(rng):
    """A small dense cell: one state of size 4 and one dense output, fixed across points."""
    structure = CellStructure(
        input_shapes=((INPUT_SIZE,),),
        states=(StateSpec((STATE_SIZE,)),),
        outputs=(OutputSpec((STATE_SIZE,)),),
        hidden=HIDDEN,
    )
    weights = tuple(tuple(rng.standard_normal(math.prod(s)).astype("float32") * 0.5) for s in structure.weight_shapes())
    return CellSpec(structure, weights)


def example_of(spec, batch, steps, rng):
    return Example(
        spec=spec,
        options=Options(),
        inputs=(rng.standard_normal((batch, steps, INPUT_SIZE)).astype("float32"),),
        initial_states=(rng.standard_normal((batch, STATE_SIZE)).astype("float32"),),
        constants=(),
        mask=None,
    )


def fit(sizes, seconds, min_size):
    """(a, b) of seconds = a + b*size, and the log-log slope over sizes >= min_size."""
    b, a = np.polyfit(sizes, seconds, 1)
    kept = [(n, s) for n, s in zip(sizes, seconds) if n >= min_size]
    exponent = np.polyfit(np.log([n for n, _ in kept]), np.log([s for _, s in kept]), 1)[0] if len(kept) >= 2 else None
    return float(a), float(b), None if exponent is None else float(exponent)


def measure(backend, mode, sizes, axis, repeats, rng):
    """Seconds per example at each size along `axis` ("T" or "B"), the other held fixed."""
    spec = fixed_cell(np.random.default_rng(0))
    seconds = []
    for n in sizes:
        steps, batch = (n, FIXED_B) if axis == "T" else (FIXED_T, n)
        example = example_of(spec, batch, steps, rng)
        backend.run(example, mode)  # warm-up: tracing and compilation are not the loop's cost
        seconds.append(median_seconds(lambda: backend.run(example, mode), repeats))
    return seconds


def run(chosen_backends, quick):
    sizes, repeats, min_size = (QUICK_SIZES, 2, 1) if quick else (FULL_SIZES, 5, 16)
    rows = []
    for name in selected([n for n, _ in GROWTH_TARGETS], chosen_backends):
        mode = dict(GROWTH_TARGETS)[name]
        backend = get_backend(name)
        row = {"backend": name, "mode": mode, "skipped": not_installed(backend)}
        rows.append(row)
        if row["skipped"]:
            continue
        try:
            for axis in ("T", "B"):
                seconds = measure(backend, mode, sizes, axis, repeats, np.random.default_rng(1))
                a, b, exponent = fit(sizes, seconds, min_size)
                row[axis] = {"sizes": list(sizes), "seconds": seconds, "a": a, "b": b, "exponent": exponent}
        except Exception as error:  # noqa: BLE001 - one broken backend must not stop the others
            row["skipped"] = failure_reason(error)
    return {"fixed": {"T": FIXED_T, "B": FIXED_B}, "min_size_for_exponent": min_size, "repeats": repeats, "rows": rows}


def table(result):
    fixed = result["fixed"]
    lines = [f"growth: ms per example = a + b*size; exponent = log-log slope over sizes >= {result['min_size_for_exponent']}",
             f"  (T varies with B={fixed['B']}; B varies with T={fixed['T']})",
             f"  {'target':28} {'a(T)':>9} {'b(T)':>9} {'exp T':>6} {'a(B)':>9} {'b(B)':>9} {'exp B':>6}"]
    for row in result["rows"]:
        target = f"{row['backend']} [{row['mode']}]"
        if row["skipped"]:
            lines.append(f"  {target:28} {row['skipped']}")
            continue
        cells = []
        for axis in ("T", "B"):
            r = row[axis]
            exponent = "-" if r["exponent"] is None else f"{r['exponent']:.2f}"
            cells.append(f"{r['a'] * 1e3:9.3f} {r['b'] * 1e3:9.4f} {exponent:>6}")
        lines.append(f"  {target:28} {cells[0]} {cells[1]}")
    return "\n".join(lines)
