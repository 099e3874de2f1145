"""Replaying a gradient finding: the backend's gradients of L next to the reference's.

A gradient reproducer (conformance/gradient_script.py) holds its case as JSON text and
calls `main(case_text)`: the case is validated like every saved case
(cells/case_schema.py: data, never code), the backend differentiates the diverging run
exactly as the suite's adapter does in the property (`Backend.run_with_gradients`, same
loss L, same mode and compiled wrapping), and the reference's gradients are the same
central differences (conformance/gradient_reference.py). It prints every gradient that
differs, both values, and returns 1 while anything differs or the backend crashes.
Gradients are computed by the suite's own adapters, so the script needs rnn-conformance
installed, and the framework.
"""

import traceback

import numpy as np

from cells.case_schema import CaseError, parse_case
from cells.serialize import example_from_dict
from conformance.gradient_assertions import REFERENCE_TOLERANCE, SAME_GRADIENT_TOLERANCES
from conformance.gradient_reference import reference_gradients
from conformance.gradients import batch_major, example_loss_weights
from conformance.repro import case_backend
from conformance.runs import expected

SHOWN = 6  # differing positions printed per gradient


def main(case_text):
    try:
        case = parse_case(case_text)
        backend = case_backend(case)
    except CaseError as error:
        print(f"rnn-conformance: cannot read the case: {error}")
        return 2
    example = example_from_dict(case.get("diverging_example", case["example"]))
    print(f"{backend.name} [{case['mode']}], {case['property']}: [{case['rule']}] {case['summary']}")
    print(f"example: {example!r}")
    weights = example_loss_weights(example, expected(example))
    try:
        _, got = backend.run_with_gradients(example, case["mode"], weights)
    except Exception as error:  # noqa: BLE001 - the contract defines a gradient here: a crash is a divergence
        traceback.print_exc()
        print(f"CRASH: {type(error).__name__}: {error}")
        return 1
    got = batch_major(got, example)
    want = reference_gradients(example, example_loss_weights(example, expected(example), "float64"))
    tolerance = REFERENCE_TOLERANCE if example.dtype == "float64" else SAME_GRADIENT_TOLERANCES[example.dtype]
    failed = False
    for (name, g), (_, w) in zip(got.leaves(), want.leaves()):
        found = _differences(g, w, tolerance)
        failed |= bool(found)
        print(f"d L / d {name}: {'DIFFERS' if found else 'agrees'}")
        for line in found[:SHOWN]:
            print(f"  {line}")
        if len(found) > SHOWN:
            print(f"  ... and {len(found) - SHOWN} more")
    return 1 if failed else 0


def _differences(got, want, tolerance):
    if got.shape != want.shape:
        return [f"shape {got.shape}, expected {want.shape}"]
    close = np.isclose(got, want, **tolerance) & np.isfinite(got)
    return [f"at {tuple(int(i) for i in p)}: got {got[tuple(p)]!s}, reference {want[tuple(p)]!s}" for p in np.argwhere(~close)]

