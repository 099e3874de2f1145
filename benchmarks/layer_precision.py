"""How far correct Keras layers under a dtype policy are from the reference (issue 40).

For each drawn policy example (cells.layer_strategies.policy_layer_examples) whose float32
twin agrees with the float32 reference (a declared float32 divergence says nothing about
rounding), on one layer row in "call" mode:

- forward: max over values of |got - want| / (u * max(|want|, 1)), the multiple of the unit
  roundoff that contract/precision.py allows as BASE + PER_STEP * T; printed as that
  multiple and as its share of the allowance (<= 1 passes);
- gradients (L7), where the float32 twin's gradients are within 1e-3 of the reference
  (else a declared float32 divergence): max over leaves of max |g - w| / (|w| + max(1, max |w|)), the smallest
  rtol = atol of POLICY_GRADIENT_TOLERANCE's form that passes the example.

Usage: python -m benchmarks.layer_precision ROW [forward examples] [gradient examples]
"""

import sys
import time
from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings

from cells.dtypes import UNIT_ROUNDOFF
from cells.layer_strategies import policy_layer_examples
from conformance.backends import get_backend
from conformance.contract.layer_gradient_reference import layer_loss_weights, reference_layer_gradients
from conformance.contract.layer_reference import expected_layer_result
from conformance.contract.precision import BASE, PER_STEP, POLICY_COMPUTE_DTYPES
from conformance.judge.assertions import compare


def drawn(count, seed):
    found = []

    @settings(max_examples=count, database=None, derandomize=False, suppress_health_check=list(HealthCheck))
    @given(policy_layer_examples())
    def take(example):
        found.append(example)

    from hypothesis import seed as fixed_seed

    fixed_seed(seed)(take)()
    return found


def leaves(result):
    return [np.asarray(result.outputs, np.float64)] + [np.asarray(s, np.float64) for s in result.new_states]


def forward_error(backend, example):
    """(multiple of u, share of the allowance), or None where the float32 twin diverges."""
    twin = example.changed(layer={"dtype_policy": "float32"})
    try:
        if compare(backend.run(twin, "call"), expected_layer_result(twin), twin):
            return None
        got = backend.run(example, "call")
    except Exception:  # noqa: BLE001 - a crash is reported by the properties, not measured
        return None
    u = UNIT_ROUNDOFF[POLICY_COMPUTE_DTYPES[example.layer.dtype_policy]]
    multiple = max(float(np.max(np.abs(g - w) / (u * np.maximum(np.abs(w), 1.0)), initial=0.0))
                   for g, w in zip(leaves(got), leaves(expected_layer_result(example))) if g.shape == w.shape)
    return multiple, multiple / (BASE + PER_STEP * example.steps)


def gradient_error(backend, example):
    """The smallest rtol = atol passing the example's gradients, or None (float32 twin diverges, crash)."""
    weights = layer_loss_weights(example)
    try:
        _, grads = backend.run_layer_gradients(example, "call", weights)
    except Exception:  # noqa: BLE001
        return None
    want = reference_layer_gradients(example, weights)
    worst = 0.0
    for part in ("inputs", "initial_states", "weights"):
        for g, w in zip(grads[part], getattr(want, part)):
            g = np.asarray(g, np.float64)
            if g.shape != np.shape(w) or not np.size(w):
                continue
            scale = max(1.0, float(np.max(np.abs(w))))
            worst = max(worst, float(np.max(np.abs(g - w) / (np.abs(w) + scale))))
    return worst


def main(row, forward_count=100, gradient_count=30, seed=40):
    backend = get_backend(row)
    started = time.perf_counter()
    forward, gradient, skipped = defaultdict(list), defaultdict(list), 0
    for example in drawn(forward_count, seed):
        found = forward_error(backend, example)
        if found is None:
            skipped += 1
            continue
        forward[(example.layer.dtype_policy, example.layer.weights_layout)].append(found)
    for example in drawn(gradient_count, seed + 1) if backend.differentiates else ():
        found = gradient_error(backend, example)
        twin = gradient_error(backend, example.changed(layer={"dtype_policy": "float32"}))
        if found is not None and twin is not None and twin <= 1e-3:  # else a float32 divergence, not rounding
            gradient[POLICY_COMPUTE_DTYPES[example.layer.dtype_policy]].append(found)
    print(f"{row}: {sum(map(len, forward.values()))} forward examples measured ({skipped} skipped), "
          f"{sum(map(len, gradient.values()))} gradient examples, {time.perf_counter() - started:.0f} s")
    for key, found in sorted(forward.items()):
        print(f"  forward {key[0]:15} {key[1]:6} n={len(found):3}  max {max(m for m, _ in found):7.2f} u, "
              f"max share of BASE + PER_STEP * T {max(s for _, s in found):.3f}")
    for dtype, found in sorted(gradient.items()):
        print(f"  gradients {dtype:9} n={len(found):3}  smallest passing rtol = atol: {max(found):.2e}")


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:]))
