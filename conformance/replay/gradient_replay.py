"""Replaying a gradient finding: the backend's gradients of L next to the reference's.

A gradient reproducer (conformance/replay/gradient_script.py) holds its case as JSON text and
calls `main(case_text)`: the case is validated like every saved case
(cells/case_schema.py: data, never code), the backend differentiates the diverging run
exactly as the suite's adapter does in the property (`Backend.run_with_gradients`, same
loss L, same mode and compiled wrapping), and the reference's gradients are the same
central differences (conformance/contract/gradient_reference.py). It prints every gradient that
differs, both values, and returns 1 while anything differs or the backend crashes.
Gradients are computed by the suite's own adapters, so the script needs rnn-conformance
installed, and the framework.

An L7 case (a layer row) is replayed by the L7 property's own body on that row and mode
(the layer's gradients on each mask route, or one `train_on_batch` step), which prints
the divergence it raises, both values, and returns 1 while it diverges; it says the case
agrees only after LAYER_ATTEMPTS fresh compiles of the model agreed, made where TensorFlow
has LAYER_THREADS threads: a race shows in some compiles only, and more often with more
threads (known_divergences.toml, `attempts` and `tensorflow_threads`).
"""

import contextlib
import traceback
import warnings

import numpy as np
from hypothesis.errors import HypothesisDeprecationWarning, UnsatisfiedAssumption

from conformance.backends.base import LAYER_LEVELS
from cells.case_schema import CaseError, parse_case
from cells.serialize import example_from_dict
from conformance.judge.assertions import Divergence
from conformance.judge.gradient_assertions import SAME_GRADIENT_TOLERANCES, reference_tolerance
from conformance.contract.gradient_reference import reference_gradients
from conformance.contract.gradients import batch_major, example_loss_weights, loss_magnitude
from conformance.replay.repro import case_backend, property_body
from conformance.judge.runs import expected
from conformance.judge.targets import Target

SHOWN = 6  # differing positions printed per gradient
LAYER_ATTEMPTS = 200  # an L7 case's compiles before it is said to agree: the entries' largest `attempts`
LAYER_THREADS = 64  # TensorFlow's threads for them: the entries' largest `tensorflow_threads`


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
    if getattr(backend, "level", None) in LAYER_LEVELS:
        return _replay_layer_property(case, backend, example)
    reference = expected(example)
    weights = example_loss_weights(example, reference)
    try:
        _, got = backend.run_with_gradients(example, case["mode"], weights)
    except Exception as error:  # noqa: BLE001 - the contract defines a gradient here: a crash is a divergence
        traceback.print_exc()
        print(f"CRASH: {type(error).__name__}: {error}")
        return 1
    got = batch_major(got, example)
    weights64 = example_loss_weights(example, reference, "float64")
    want = reference_gradients(example, weights64)
    tolerance = (reference_tolerance(loss_magnitude(reference, weights64)) if example.dtype == "float64"
                 else SAME_GRADIENT_TOLERANCES[example.dtype])
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


def _replay_layer_property(case, backend, example):
    """L7 (and L9, a stateful built-in layer): the property's body on the case's row and
    mode; 1 while it diverges or crashes.

    An L7 case gets up to LAYER_ATTEMPTS attempts, each after the first on functions Keras
    traces and compiles afresh: a race inside the framework makes some compiles wrong and not
    others (known_divergences.toml, `attempts`), so one right compile proves nothing. An L9
    case builds a new stateful layer for its one attempt."""
    body = property_body(case["property"])
    target = Target(backend, case["mode"])
    attempts, threads = (LAYER_ATTEMPTS, LAYER_THREADS) if case["rule"] == "L7" else (1, None)
    with backend.tensorflow_threads(threads) if threads else contextlib.nullcontext():
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                backend.forget_compiled()
            status = _layer_attempt(body, target, example, case["drawn"])
            if status is not None:
                if status == 1 and attempts > 1:
                    print(f"the layer DIFFERS from the reference on compile {attempt} (up to {attempts} fresh compiles)")
                return status
    how = f" on {attempts} fresh compiles (TensorFlow with {threads} threads)" if threads else ""
    print(f"{backend.name} [{case['mode']}]: agrees with the layer reference ({case['rule']}){how}")
    return 0


def _layer_attempt(body, target, example, drawn):
    """1 when the body diverges or crashes, 2 when the case has nothing to check, None when it agrees."""
    try:
        with warnings.catch_warnings():  # the body's assume(), outside Hypothesis
            warnings.simplefilter("ignore", HypothesisDeprecationWarning)
            body(target=target, example=target.applicable(example), **drawn)
    except UnsatisfiedAssumption:
        print("the case's loss reaches no cell weight: there is no training step to check (L7)")
        return 2
    except Divergence as divergence:
        print(str(divergence).split("\n\n")[0])  # rule, summary, values (not the forward script)
        return 1
    except Exception as error:  # noqa: BLE001 - outside the backend call: still the case's failure
        traceback.print_exc()
        print(f"CRASH: {type(error).__name__}: {error}")
        return 1
    return None


def _differences(got, want, tolerance):
    if got.shape != want.shape:
        return [f"shape {got.shape}, expected {want.shape}"]
    close = np.isclose(got, want, **tolerance) & np.isfinite(got)
    return [f"at {tuple(int(i) for i in p)}: got {got[tuple(p)]!s}, reference {want[tuple(p)]!s}" for p in np.argwhere(~close)]

