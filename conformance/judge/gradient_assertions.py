"""Comparing gradients, and failing with the section 5 rule that broke (G1-G4).

The gradient properties end in these helpers, as the forward ones end in
conformance/judge/assertions.py, and fail the same way: a `Divergence` whose details name the
argument leaf ("inputs[0]", "weights[2]") and the positions, batch-major ("(b, t, ...)"
for inputs). Every gradient set is checked against the example's arguments first (one
array per argument, of its shape), then for finiteness, then for values, so a NaN is
reported as a NaN and never as a value far off. The tolerances are CONTRACT.md's
(section 5, "How gradients are checked").
"""

import numpy as np
import optree

from conformance.judge.assertions import MAX_POSITIONS_SHOWN, Divergence
from conformance.backends.base import CompiledCache
from conformance.contract.gradient_reference import EPSILON, reference_derivatives
from conformance.contract.gradients import DIFFERENTIATED

# G1: a float64 backend gradient against the reference's central differences (eps 1e-6).
# The worst honest error measured was 0.0068 of it (1.5e-8 absolute; CONTRACT.md section 5).
REFERENCE_TOLERANCE = dict(rtol=1e-5, atol=1e-6)
# A central difference also carries L's rounding, about the unit roundoff times the size of
# L's terms divided by eps: negligible for most cells, but a cell whose linear states grow
# over six steps made L's terms 2e4 and the rounding 3.5e-6, over atol, on a correct loop
# (fixed-tensorflow, soak seed 7003). atol grows by ROUNDING_MARGIN times that bound.
UNIT_ROUNDOFF = 2.0**-53
ROUNDING_MARGIN = 8
# G3, G4: two gradients of one backend; by dtype, in the spirit of assertions.TOLERANCES.
SAME_GRADIENT_TOLERANCES = {
    "float64": dict(rtol=1e-7, atol=1e-9),
    # float32: an XLA backward pass was measured 2.5e-4 relative from eager on a correct loop
    # (CONTRACT.md section 5); every real G3/G4 divergence found was NaN or of order 0.1.
    "float32": dict(rtol=1e-3, atol=1e-4),
}
# Rounding in a backward pass scales with the terms it sums, not with the coordinate they
# sum to: on the correct fixed-tensorflow (float32, soak seed 7014) a coordinate that
# cancels to 0.0025, in a leaf whose largest gradient is 545, came out 1.6e-4 apart in XLA
# and eager. So each coordinate may also differ by about 85 units in the last place of
# its leaf's largest |gradient| (the most measured there: 1.8e-6 of it, 15 units).
SAME_GRADIENT_LEAF_SCALE = {"float64": 2e-14, "float32": 1e-5}
# The same example is checked by several modes in one worker: its finite differences
# are computed once (keyed by everything they depend on).
_reference_cache = CompiledCache(size=64)


def assert_masked_inputs_get_no_gradient(grads, example, target):
    """G2: where mask[b, t] is false, dL/d inputs[b, t] is exactly zero, in every input leaf."""
    _assert_matches_arguments(grads, example, target)
    if example.mask is None:
        return
    masked = ~np.asarray(example.mask, bool)
    found = []
    for i, gradient in enumerate(grads.inputs):
        gradient = np.asarray(gradient)
        wrong = masked.reshape(masked.shape + (1,) * (gradient.ndim - 2)) & (gradient != 0)  # NaN != 0 too
        if wrong.any():
            positions = np.argwhere(wrong)
            found.append(f"inputs[{i}]: {len(positions)} masked values have a gradient; " + _show(positions, gradient, np.zeros_like(gradient), "inputs"))
    if found:
        raise Divergence("G2", "an input at a masked step has a nonzero gradient (expected exactly 0)", found, example, target)


def assert_gradients_finite(grads, example, target, rule):
    """No gradient is NaN or inf (checked apart from values: G1, and G3 at masked steps)."""
    _assert_matches_arguments(grads, example, target)
    found = []
    for name, gradient in grads.leaves():
        positions = np.argwhere(~np.isfinite(gradient))
        if len(positions):
            found.append(f"{name}: {len(positions)} of {gradient.size} gradients are not finite; " + _show(positions, gradient, None, name))
    if found:
        raise Divergence(rule, "a gradient is NaN or inf", found, example, target)


def assert_gradients_agree_with_reference(grads, example, loss_weights, target):
    """G1: every gradient equals the reference's central differences, per coordinate and
    along the reference's random directions; float64 examples only (section 5)."""
    if example.dtype != "float64":
        raise ValueError(f"G1 is checked in float64 (CONTRACT.md section 5), not on a {example.dtype} example")
    assert_gradients_finite(grads, example, target, "G1")
    expected = _cached_reference(example, loss_weights)
    tolerance = reference_tolerance(expected.magnitude)
    found = []
    if expected.gradients is not None:
        for (name, got), (_, want) in zip(grads.leaves(), expected.gradients.leaves()):
            found += _differences(name, got, want, tolerance)
    for n, (direction, along) in enumerate(zip(expected.directions, expected.along)):
        got = sum(float(np.sum(g.astype(np.float64) * v)) for (_, g), (_, v) in zip(grads.leaves(), direction.leaves()))
        if not np.isclose(got, along, **tolerance):
            found.append(f"along random direction {n} (unit length over every argument): got {got!r}, expected {along!r}")
    if found:
        raise Divergence("G1", "gradients differ from the reference's finite differences", found, example, target)


def reference_tolerance(magnitude):
    """G1's tolerance for an example whose L has terms of total size `magnitude`: the
    table's, with atol widened by the central difference's rounding bound."""
    rounding = ROUNDING_MARGIN * UNIT_ROUNDOFF * magnitude / EPSILON
    return dict(rtol=REFERENCE_TOLERANCE["rtol"], atol=REFERENCE_TOLERANCE["atol"] + rounding)


def assert_same_gradients(first, second, example, target, rule, relation):
    """Two gradient sets the contract says are equal (G3: junk and clean masked inputs;
    G4: unroll, input_length, modes, ...), within the tolerance of the example's dtype."""
    _assert_matches_arguments(first, example, target, rule)
    _assert_matches_arguments(second, example, target, rule)
    found = []
    for (name, got), (_, want) in zip(first.leaves(), second.leaves()):
        found += _differences(name, got, want, same_gradient_tolerance(example.dtype, got, want))
    if found:
        divergence = Divergence(rule, relation, found, example, target)
        runs = tuple(g.taken_on for g in (first, second) if g.taken_on is not None)
        divergence.runs = runs or divergence.runs  # either run may be the one that broke the rule
        targets = [g.taken_by for g in (first, second) if g.taken_by is not None]
        divergence.targets = tuple(dict.fromkeys([target, *targets]))  # and either target (G4: compiled against eager)
        raise divergence


def same_gradient_tolerance(dtype, got, want):
    """G3/G4's tolerance for one gradient leaf: the dtype's, its atol widened by
    SAME_GRADIENT_LEAF_SCALE times the largest finite |gradient| of the two."""
    tolerance = dict(SAME_GRADIENT_TOLERANCES[dtype])
    values = np.abs(np.concatenate([np.ravel(got), np.ravel(want)]).astype(np.float64))
    values = values[np.isfinite(values)]
    if values.size:
        tolerance["atol"] += SAME_GRADIENT_LEAF_SCALE[dtype] * float(values.max())
    return tolerance


def _assert_matches_arguments(grads, example, target, rule="G1"):
    """One gradient per differentiated argument, of its shape (batch-major): anything else
    is no derivative of L (G1), reported before any value is read."""
    found = []
    for part, arguments in zip(DIFFERENTIATED, _arguments(example)):
        got = getattr(grads, part)
        if len(got) != len(arguments):
            found.append(f"{part}: {len(got)} gradients, expected {len(arguments)} (one per argument)")
            continue
        for i, (gradient, argument) in enumerate(zip(got, arguments)):
            if np.shape(gradient) != np.shape(argument):
                found.append(f"{part}[{i}]: shape {np.shape(gradient)}, expected {np.shape(argument)} (the argument's)")
    if found:
        raise Divergence(rule, "gradients are not shaped as the arguments", found, example, target)


def _arguments(example):
    return (example.inputs, example.initial_states, example.constants, example.spec.weight_arrays())


def _differences(name, got, want, tolerance):
    got, want = np.asarray(got), np.asarray(want)
    close = np.isclose(got, want, equal_nan=True, **tolerance)
    if close.all():
        return []
    positions = np.argwhere(~close)
    return [f"{name}: {len(positions)} of {got.size} gradients differ; " + _show(positions, got, want, name)]


def _show(positions, got, want, name):
    """'at (b, t, ...): got x, expected y' for the first few positions, with the axes named."""
    shown = []
    for pos in positions[:MAX_POSITIONS_SHOWN]:
        index = tuple(int(p) for p in pos)
        expected = "" if want is None else f", expected {float(want[index])!r}"
        shown.append(f"at {index}: got {float(got[index])!r}{expected}")
    more = "" if len(positions) <= MAX_POSITIONS_SHOWN else f" (+{len(positions) - MAX_POSITIONS_SHOWN} more)"
    axes = {"inputs": "(B, T, ...)", "initial_states": "(B, ...)", "constants": "(B, ...)"}.get(name.split("[")[0], "(weight axes)")
    return f"positions {axes}: " + "; ".join(shown) + more


def _cached_reference(example, loss_weights):
    return _reference_cache.get(_reference_key(example, loss_weights), lambda: reference_derivatives(example, loss_weights))


def _reference_key(example, loss_weights):
    """Everything the finite differences depend on, as bytes (an Example hashes by identity)."""
    o = example.options
    arrays = [*example.inputs, *example.initial_states, *example.constants]
    arrays += [] if example.mask is None else [np.asarray(example.mask, bool)]
    for part in ("last_output", "outputs", "new_states"):
        arrays += optree.tree_leaves(getattr(loss_weights, part))
    data = tuple((np.asarray(a).dtype.str, np.shape(a), np.ascontiguousarray(a).tobytes()) for a in arrays)
    return (example.spec, o.go_backwards, o.zero_output_for_mask, o.return_all_outputs, o.time_major, example.mask is None, data)
