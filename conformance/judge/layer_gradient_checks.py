"""What rule L7 checks, shared by the layer rows' properties (conformance/properties/test_layer_gradients.py)
and a user's cell (conformance/properties/test_user_cell.py): the gradient comparison, G2's exact zeros,
and the training step's update against the reference gradient.

The property bodies of test_layer_gradients.py stay as they were written: Hypothesis seeds
a derandomized (ci) sample from a test's source, so moving their text here would redraw the
gate's sample on every layer row. The user-cell properties call the whole checks below.
"""

import numpy as np
from hypothesis import assume

from cells.dtypes import UNIT_ROUNDOFF
from cells.layer_example import MASK_ROUTES
from conformance.judge.assertions import MAX_POSITIONS_SHOWN, Divergence, assert_agrees_with_reference
from conformance.contract.layer_gradient_reference import (
    LayerGradients,
    as_result,
    differentiated,
    layer_loss_weights,
    reference_layer_gradients,
    training_weights,
)
from conformance.contract.layer_reference import layer_outputs
from conformance.judge.runs import crashes_as_divergences, run_backend

# float32 gradient vs float64 central differences: |got - want| <= rtol * |want| + atol *
# max(1, max |want| of the leaf). Measured on every Keras 3 row and tf_keras (call and
# predict, 15-20 examples each, plain, Bidirectional and stacked): the worst honest error
# was 1.6e-5 of |want| + 1e-3 (torch), 1.6e-7 (TensorFlow); the smallest real divergence
# 0.2 absolute. 1e-3 / 1e-4 is 60x above the first and 2000x below the second.
GRADIENT_TOLERANCE = dict(rtol=1e-3, atol=1e-4)
LEARNING_RATE = 0.25  # a power of two: lr * gradient is exact in float32
# A layer under a low-precision dtype policy (issue 40), by its compute dtype: gradients
# against the float64 central differences at the float32 weights, the same form as
# GRADIENT_TOLERANCE. Measured (benchmarks/layer_precision.py, "call" mode, examples whose
# float32 twin conforms; layer-keras-torch, -tensorflow, -jax and tf_keras, 20-30 float16
# and 3-19 bfloat16 examples each): the smallest passing rtol = atol was at most 1.45e-3
# in float16 (tf_keras) and 3.2e-3 in bfloat16 (torch, TensorFlow). 1e-2 is 7x above the
# first; 1e-1 is 30x above the second and 8x above the float16 worst scaled by bfloat16's
# 8x larger unit roundoff (its sample was small). Both are JAX check_grads' defaults.
POLICY_GRADIENT_TOLERANCE = {"float16": dict(rtol=1e-2, atol=1e-2), "bfloat16": dict(rtol=1e-1, atol=1e-1)}


def mask_routes(example):
    """L3's routes: both for a masked example, the mask= argument alone otherwise."""
    if example.mask is None:
        return [example]
    return [example.changed(layer={"mask_route": route}) for route in MASK_ROUTES]


def _layer_gradients(grads):
    return LayerGradients(*(tuple(grads[part]) for part in ("inputs", "initial_states", "weights")))


def check_layer_gradients(target, example):
    """L7 (with G2) on every mask route: the forward result, exact zeros at masked inputs,
    then every gradient against the reference's."""
    for routed in mask_routes(example):
        weights = layer_loss_weights(routed)
        result, grads = crashes_as_divergences(
            target, routed, "L7", lambda: target.backend.run_layer_gradients(routed, target.mode, weights)
        )
        assert_agrees_with_reference(result, as_result(layer_outputs(routed)), routed, target)
        got = _layer_gradients(grads)
        assert_masked_inputs_get_no_gradient(got, routed, target)
        assert_close_to_reference(got, reference_layer_gradients(routed, weights), routed, target)


def check_training_step(target, example):
    """L7: one train_on_batch (SGD, LEARNING_RATE) moves each weight by -LEARNING_RATE times
    the reference's dL'/d weight, on every mask route (the "predict" mode's model)."""
    for routed in mask_routes(example):
        assert_agrees_with_reference(run_backend(target, routed, "L7"), as_result(layer_outputs(routed)), routed, target)
        weights = training_weights(routed, layer_loss_weights(routed))
        reference = reference_layer_gradients(routed, weights)
        assume(any(np.any(g != 0) for g in reference.weights))  # Keras refuses a loss of no weight
        deltas = crashes_as_divergences(target, routed, "L7", lambda: target.backend.train_step(routed, weights, LEARNING_RATE))
        found = training_step_problems(deltas, reference.weights, differentiated(routed).weights)
        if found:
            raise Divergence("L7", f"one train_on_batch step (SGD, learning rate {LEARNING_RATE}) does not move the weights "
                             "by -learning rate x the reference gradient (shown: -change / learning rate)", found, routed, target)


def training_step_problems(deltas, reference_weights, start, tolerance=GRADIENT_TOLERANCE, variable_dtype=np.float32):
    """Where a train_on_batch step's weight changes are not -LEARNING_RATE x the reference
    gradient (test_layer_gradients.py keeps this loop in its property's own text)."""
    found = _shape_problems("weights", deltas, reference_weights)
    for i, (delta, want, w) in enumerate(zip(deltas, reference_weights, start)) if not found else ():
        delta = np.asarray(delta, np.float64)
        # the update rounds to a spacing of the weight in its variable's dtype: one each side
        slack = LEARNING_RATE * _allowed(want, tolerance) + 2 * _spacing(np.abs(w), variable_dtype)
        found += _differences(f"weights[{i}]", -delta / LEARNING_RATE, want, np.abs(delta + LEARNING_RATE * want) > slack)
    return found


def _spacing(magnitudes, dtype):
    """The distance from each |w| (held in `dtype`) to the next larger value of `dtype`:
    2u times the power of two at or below it (u the dtype's unit roundoff)."""
    u = UNIT_ROUNDOFF[str(np.dtype(dtype))]
    m = np.maximum(np.asarray(magnitudes, np.float64), np.finfo(np.float32).tiny)
    return 2 * u * np.exp2(np.floor(np.log2(m)))


def assert_masked_inputs_get_no_gradient(grads, example, target):
    """G2 under L7: where mask[b, t] is false, dL/d x[b, t] is exactly 0 (a NaN is not)."""
    if example.mask is None or not grads.inputs:
        return
    gradient = np.asarray(grads.inputs[0])
    if gradient.shape != example.inputs[0].shape:
        return  # reported by assert_close_to_reference
    masked = ~np.asarray(example.mask, bool)
    wrong = masked.reshape(masked.shape + (1,) * (gradient.ndim - 2)) & (gradient != 0)
    if wrong.any():
        found = _differences("inputs[0]", gradient, np.zeros_like(gradient), wrong)
        raise Divergence("L7", f"a masked input has a nonzero gradient on the {example.layer.mask_route} route (G2)", found, example, target)


def assert_close_to_reference(grads, expected, example, target, tolerance=GRADIENT_TOLERANCE):
    found = []
    for part in ("inputs", "initial_states", "weights"):
        got, want = getattr(grads, part), getattr(expected, part)
        problems = _shape_problems(part, got, want)
        found += problems
        for i, (g, w) in enumerate(zip(got, want)) if not problems else ():
            g = np.asarray(g, np.float64)
            found += _differences(f"{part}[{i}]", g, w, ~np.isfinite(g) | (np.abs(g - w) > _allowed(w, tolerance)))
    if found:
        raise Divergence("L7", f"gradients differ from the layer reference's on the {example.layer.mask_route} route", found, example, target)


def _allowed(want, tolerance=GRADIENT_TOLERANCE):
    scale = max(1.0, float(np.max(np.abs(want)))) if np.size(want) else 1.0
    return tolerance["rtol"] * np.abs(want) + tolerance["atol"] * scale


def _shape_problems(part, got, want):
    if len(got) != len(want):
        return [f"{part}: {len(got)} gradients, expected {len(want)}"]
    return [f"{part}[{i}]: shape {np.shape(g)}, expected {np.shape(w)}" for i, (g, w) in enumerate(zip(got, want)) if np.shape(g) != np.shape(w)]


def _differences(name, got, want, wrong):
    """'name: n of m differ; at (index): got x, expected y; ...' where `wrong` is true."""
    if not np.any(wrong):
        return []
    positions = np.argwhere(wrong)
    shown = "; ".join(
        f"at {tuple(int(p) for p in pos)}: got {float(got[tuple(pos)])!r}, expected {float(want[tuple(pos)])!r}"
        for pos in positions[:MAX_POSITIONS_SHOWN]
    )
    more = "" if len(positions) <= MAX_POSITIONS_SHOWN else f" (+{len(positions) - MAX_POSITIONS_SHOWN} more)"
    axes = {"inputs": "(B, T, F)", "initial_states": "(B, S)"}.get(name.split("[")[0], "(weight axes; copy by copy, cell by cell)")
    return [f"{name}: {len(positions)} of {np.size(got)} differ; positions {axes}: {shown}{more}"]
