"""The gradient checks (conformance/judge/gradient_assertions.py) pass right gradients and fail
wrong ones with the rule, the leaf and the position: a wrong value (G1), a NaN (G1, or the
calling rule), a nonzero gradient at a masked input (G2), a wrong shape or count, and two
gradient sets that differ (G3/G4). The "backend" here is the reference itself: its own
gradients agree with it by construction, and each test breaks one entry of them."""

from dataclasses import replace

import numpy as np
import pytest

from cells.example import Example, Options
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec
from conformance.judge.assertions import Divergence
from conformance.judge.gradient_assertions import (
    assert_gradients_agree_with_reference,
    assert_gradients_finite,
    assert_masked_inputs_get_no_gradient,
    assert_same_gradients,
)
from conformance.contract.gradient_reference import reference_gradients
from conformance.contract.gradients import Gradients, loss_weights
from conformance.judge.runs import expected


def small_example(dtype="float64", **options):
    """B = 2, T = 3, two input leaves, a dense and a counter state, a constant, two
    outputs; sample 1 is masked at step 1."""
    structure = CellStructure(
        input_shapes=((2,), (1,)),
        states=(StateSpec((2,)), StateSpec((1,), kind="counter")),
        outputs=(OutputSpec((2,)), OutputSpec((1,), activation="sigmoid")),
        constant_shapes=((1,),),
        hidden=2,
        dtype=dtype,
    )
    rng = np.random.default_rng(0)
    weights = tuple(tuple(rng.choice([0.5, -0.5, 1.0, -0.75], size=int(np.prod(s)))) for s in structure.weight_shapes())
    data = lambda *shape: rng.uniform(-1, 1, shape).astype(dtype)  # noqa: E731
    mask = np.ones((2, 3), bool)
    mask[1, 1] = False
    return Example(
        spec=CellSpec(structure, weights),
        options=Options(**options),
        inputs=(data(2, 3, 2), data(2, 3, 1)),
        initial_states=(data(2, 2), data(2, 1)),
        constants=(data(2, 1),),
        mask=mask,
        mask_family="per-sample",
    )


@pytest.fixture(scope="module")
def case():
    example = small_example()
    weights = loss_weights(expected(example), "float64")
    return example, weights, reference_gradients(example, weights)


def changed(grads, part, i, index, value):
    arrays = [np.array(a) for a in getattr(grads, part)]
    arrays[i][index] = value
    return replace(grads, **{part: tuple(arrays)})


def test_right_gradients_pass(case):
    example, weights, grads = case
    assert_masked_inputs_get_no_gradient(grads, example, "target")
    assert_gradients_finite(grads, example, "target", "G3")
    assert_gradients_agree_with_reference(grads, example, weights, "target")
    assert_same_gradients(grads, grads, example, "target", "G4", "unroll changed them")


def test_a_wrong_value_is_g1_with_leaf_and_position(case):
    example, weights, grads = case
    wrong = changed(grads, "weights", 0, (1, 0), grads.weights[0][1, 0] + 1e-3)
    with pytest.raises(Divergence) as info:
        assert_gradients_agree_with_reference(wrong, example, weights, "target")
    assert info.value.rule == "G1"
    assert "weights[0]: 1 of" in str(info.value) and "at (1, 0): got" in str(info.value)
    assert "along random direction" in str(info.value)  # the directional check sees it too


def test_a_wrong_input_gradient_names_sample_and_step(case):
    example, weights, grads = case
    wrong = changed(grads, "inputs", 1, (0, 2, 0), 7.0)
    with pytest.raises(Divergence, match=r"inputs\[1\]: 1 of 6 gradients differ; positions \(B, T, \.\.\.\): at \(0, 2, 0\): got 7\.0"):
        assert_gradients_agree_with_reference(wrong, example, weights, "target")


def test_a_nan_is_reported_as_not_finite_before_values(case):
    example, weights, grads = case
    wrong = changed(grads, "initial_states", 0, (1, 1), np.nan)
    with pytest.raises(Divergence) as info:
        assert_gradients_agree_with_reference(wrong, example, weights, "target")
    assert info.value.rule == "G1" and "not finite" in str(info.value) and "at (1, 1): got nan" in str(info.value)
    with pytest.raises(Divergence) as info:
        assert_gradients_finite(changed(grads, "constants", 0, (0, 0), np.inf), example, "target", "G3")
    assert info.value.rule == "G3" and "constants[0]: 1 of 2 gradients are not finite" in str(info.value)


def test_a_gradient_at_a_masked_input_is_g2(case):
    example, _, grads = case
    for value in (1e-30, np.nan):  # exactly zero: neither tiny nor NaN passes
        with pytest.raises(Divergence) as info:
            assert_masked_inputs_get_no_gradient(changed(grads, "inputs", 0, (1, 1, 1), value), example, "target")
        assert info.value.rule == "G2"
        assert "inputs[0]: 1 masked values have a gradient; positions (B, T, ...): at (1, 1, 1)" in str(info.value)
    assert_masked_inputs_get_no_gradient(changed(grads, "inputs", 0, (1, 0, 1), 5.0), example, "target")  # unmasked


def test_wrong_shapes_and_counts_are_clear_divergences(case):
    example, weights, grads = case
    transposed = replace(grads, inputs=(np.swapaxes(grads.inputs[0], 0, 1), grads.inputs[1]))
    with pytest.raises(Divergence, match=r"inputs\[0\]: shape \(3, 2, 2\), expected \(2, 3, 2\)"):
        assert_masked_inputs_get_no_gradient(transposed, example, "target")
    missing = replace(grads, constants=())
    with pytest.raises(Divergence, match=r"constants: 0 gradients, expected 1"):
        assert_gradients_agree_with_reference(missing, example, weights, "target")
    with pytest.raises(Divergence) as info:
        assert_same_gradients(grads, missing, example, "target", "G4", "relation")
    assert info.value.rule == "G4"


def test_same_gradients_fail_with_the_relation_and_dtype_tolerance(case):
    example, _, grads = case
    other = changed(grads, "weights", 1, (0,), grads.weights[1][0] * (1 + 1e-5))
    with pytest.raises(Divergence) as info:
        assert_same_gradients(other, grads, example, "target", "G3", "NaN at masked input steps changed the gradients")
    assert info.value.rule == "G3" and "NaN at masked input steps changed the gradients" in str(info.value)
    assert "weights[1]: 1 of 2 gradients differ" in str(info.value)
    as32 = small_example("float32")  # the same relative change is within float32's tolerance
    grads32 = Gradients(*(tuple(a.astype(np.float32) for a in getattr(grads, p)) for p in ("inputs", "initial_states", "constants", "weights")))
    other32 = changed(grads32, "weights", 1, (0,), grads32.weights[1][0] * (1 + 1e-5))
    assert_same_gradients(other32, grads32, as32, "target", "G4", "relation")


def test_g1_refuses_a_float32_example(case):
    _, weights, grads = case
    with pytest.raises(ValueError, match="G1 is checked in float64"):
        assert_gradients_agree_with_reference(grads, small_example("float32"), weights, "target")


def test_the_reference_is_computed_once_per_example_content(case, monkeypatch):
    example, weights, grads = case
    from conformance.judge import gradient_assertions

    calls = []
    real = gradient_assertions.reference_derivatives
    monkeypatch.setattr(gradient_assertions, "reference_derivatives", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(gradient_assertions, "_reference_cache", type(gradient_assertions._reference_cache)(4))
    copy = small_example()  # equal content, another object (as a second mode sees it)
    for ex in (example, copy, copy.changed(options={"unroll": True})):
        assert_gradients_agree_with_reference(grads, ex, weights, "target")
    assert len(calls) == 1
    other = copy.changed(initial_states=(copy.initial_states[0] + 1, copy.initial_states[1]))
    with pytest.raises(Divergence):
        assert_gradients_agree_with_reference(grads, other, weights, "target")
    assert len(calls) == 2


def test_a_time_major_run_is_weighed_as_the_same_loss_as_its_batch_major_twin():
    """G4 compares time-major gradients with batch-major ones: L's weights of `outputs`
    (T, B, ...) must be the transpose of the batch-major weights, or the two runs
    differentiate different losses (found by the thorough run on fixed-tensorflow)."""
    import optree

    from conformance.contract.gradients import example_loss_weights

    batch_major = small_example()
    time_major = batch_major.changed(options={"time_major": True})
    w_batch = example_loss_weights(batch_major, expected(batch_major))
    w_time = example_loss_weights(time_major, expected(time_major))
    for a, b in zip(optree.tree_leaves(w_batch.outputs), optree.tree_leaves(w_time.outputs)):
        assert b.shape == (3, 2) + a.shape[2:]
        np.testing.assert_array_equal(np.swapaxes(b, 0, 1), a)
    for part in ("last_output", "new_states"):
        for a, b in zip(optree.tree_leaves(getattr(w_batch, part)), optree.tree_leaves(getattr(w_time, part))):
            np.testing.assert_array_equal(a, b)


def test_two_gradient_sets_that_differ_name_both_runs(case):
    """G4 compares the drawn example with a variant (unroll flipped, say): a declared
    entry's condition (`unroll and ...`) must be asked of both runs, as for the forward
    relations, or whether it is excused depends on which of the two Hypothesis drew."""
    example, _, grads = case
    unrolled = example.changed(options={"unroll": True})
    other = replace(changed(grads, "weights", 1, (0,), grads.weights[1][0] + 1), taken_on=unrolled)
    with pytest.raises(Divergence) as info:
        assert_same_gradients(other, replace(grads, taken_on=example), unrolled, "target", "G4", "relation")
    assert info.value.runs == (unrolled, example)
    with pytest.raises(Divergence) as info:  # gradients that do not say where they come from: the example alone
        assert_same_gradients(changed(grads, "weights", 1, (0,), 9.0), grads, example, "target", "G4", "relation")
    assert info.value.runs == (example,)


def test_g1_allows_the_rounding_of_a_large_loss_and_no_more(monkeypatch):
    """A correct loop failed G1 (fixed-tensorflow, soak seed 7003): linear states grown over
    six steps made L's terms add up to 5.8e4, and the central differences carried 3.5e-6
    of rounding. G1's atol adds 8 times the rounding bound: the case passes; without the
    bound it fails; where L's terms are small the tolerance is the table's."""
    from pathlib import Path

    from conformance.judge import gradient_assertions
    from conformance.backends import get_backend
    from conformance.judge.gradient_assertions import reference_tolerance
    from conformance.contract.gradient_reference import reference_magnitude
    from conformance.contract.gradients import example_loss_weights
    from conformance.replay.repro import load_case
    from conformance.judge.targets import Target

    assert reference_tolerance(10.0)["atol"] < 1e-6 + 1e-8
    backend = get_backend("fixed-tensorflow")
    if backend.missing_package():
        pytest.skip(f"needs {backend.missing_package()}")
    body, example, drawn = load_case(str(Path(__file__).parents[1] / "cases" / "fixed-tensorflow-g1-rounding-of-a-large-loss.json"))
    magnitude = reference_magnitude(example, example_loss_weights(example, expected(example)))
    assert 5e4 < magnitude < 7e4 and reference_tolerance(magnitude)["atol"] < 1e-4
    body(target=Target(backend, "eager"), example=example, **drawn)
    monkeypatch.setattr(gradient_assertions, "ROUNDING_MARGIN", 0)
    with pytest.raises(Divergence) as info:
        body(target=Target(backend, "eager"), example=example, **drawn)
    assert info.value.rule == "G1" and "inputs[0]: 1 of 72 gradients differ" in str(info.value)


def test_g4_allows_rounding_scaled_by_the_leaf_and_no_more(monkeypatch):
    """A correct loop failed G4 (fixed-tensorflow, xla against eager, float32, soak seed
    7014): a coordinate that cancels to 0.0025 in a leaf whose largest gradient is 545 came
    out 1.6e-4 apart. Each coordinate may also differ by 1e-5 of its leaf's largest
    |gradient|: the case passes; without that it fails; a leaf of small gradients keeps
    the table's tolerance."""
    from pathlib import Path

    from conformance.judge import gradient_assertions
    from conformance.backends import get_backend
    from conformance.judge.gradient_assertions import same_gradient_tolerance
    from conformance.replay.repro import load_case
    from conformance.judge.targets import Target

    assert same_gradient_tolerance("float32", [0.5, -1.0], [0.5, -1.0])["atol"] == pytest.approx(1e-4 + 1e-5)
    assert same_gradient_tolerance("float32", [np.nan], [np.inf])["atol"] == 1e-4
    backend = get_backend("fixed-tensorflow")
    if backend.missing_package():
        pytest.skip(f"needs {backend.missing_package()}")
    body, example, drawn = load_case(str(Path(__file__).parents[1] / "cases" / "fixed-tensorflow-g4-xla-rounding-of-a-cancelling-coordinate.json"))
    body(target=Target(backend, "xla"), example=example, **drawn)
    monkeypatch.setitem(gradient_assertions.SAME_GRADIENT_LEAF_SCALE, "float32", 0.0)
    with pytest.raises(Divergence) as info:
        body(target=Target(backend, "xla"), example=example, **drawn)
    assert info.value.rule == "G4" and "weights[3]: 1 of 12 gradients differ" in str(info.value)
