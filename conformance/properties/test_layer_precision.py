"""A layer under a dtype policy (issue 40): `mixed_float16` and `mixed_bfloat16` (float32
variables, a low compute dtype) and float16 and bfloat16 as plain layer dtypes.

The layer computes in the policy's compute dtype: its outputs and states are in that dtype
(R13) and agree with the layer reference computed in float64 from the float32 values and
rounded once (conformance/contract/layer_reference.policy_layer_outputs) within section
3's low-precision tolerance; its gradients (L7) agree with the reference's central
differences within POLICY_GRADIENT_TOLERANCE, and one `train_on_batch` with the optimizer
the policy uses (under mixed_float16 a LossScaleOptimizer) moves the float32 variables by
-learning rate x the reference gradient. Cells keep their weights whole or as slices of
one kernel (LayerOptions.weights_layout): an autocast may treat the two differently.

Low precision is a share of the budget: each property draws the gradient properties' few
examples (profiles.GRADIENT_EXAMPLES).
"""

import numpy as np
import pytest
from hypothesis import assume, given

from cells.dtypes import numpy_dtype
from cells.layer_strategies import policy_layer_examples
from conformance.base.profiles import gradient_settings
from conformance.contract.layer_gradient_reference import (
    differentiated,
    layer_loss_weights,
    reference_layer_gradients,
    training_weights,
)
from conformance.contract.layer_reference import expected_layer_result
from conformance.contract.precision import POLICY_COMPUTE_DTYPES
from conformance.judge.assertions import Divergence, assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.judge.layer_gradient_checks import (
    LEARNING_RATE,
    POLICY_GRADIENT_TOLERANCE,
    _layer_gradients,
    assert_close_to_reference,
    assert_masked_inputs_get_no_gradient,
    mask_routes,
    training_step_problems,
)
from conformance.judge.runs import crashes_as_divergences, run_backend

CONTRACT_LEVEL = "layer"
POLICY_LAYERS = policy_layer_examples()


def _tolerance(example):
    return POLICY_GRADIENT_TOLERANCE[POLICY_COMPUTE_DTYPES[example.layer.dtype_policy]]


@pytest.mark.needs_dtype_policies
@gradient_settings()
@given(example=POLICY_LAYERS)
@contract_property
def test_layer_under_a_dtype_policy_agrees_with_reference(target, example):
    """L1 (L4-L6 through it) under a policy: outputs and states in the compute dtype (R13),
    within section 3's low-precision tolerance of the reference from the float32 values."""
    actual = run_backend(target, example, "L1")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@pytest.mark.needs_dtype_policies
@pytest.mark.needs_gradients
@gradient_settings()
@given(example=POLICY_LAYERS)
@contract_property(siblings=False)  # Keras' gradients are taken eagerly: nothing to reuse
def test_layer_gradients_under_a_dtype_policy_agree_with_reference(target, example):
    """L7 under a policy: dL/d x, the passed initial states and every float32 weight agree
    with the reference's central differences within POLICY_GRADIENT_TOLERANCE, on each
    mask route; masked inputs get exactly 0 (G2 holds in any dtype)."""
    for routed in mask_routes(example):
        weights = layer_loss_weights(routed)
        result, grads = crashes_as_divergences(
            target, routed, "L7", lambda: target.backend.run_layer_gradients(routed, target.mode, weights)
        )
        assert_agrees_with_reference(result, expected_layer_result(routed), routed, target)
        got = _layer_gradients(grads)
        assert_masked_inputs_get_no_gradient(got, routed, target)
        assert_close_to_reference(got, reference_layer_gradients(routed, weights), routed, target, _tolerance(routed))


@pytest.mark.needs_dtype_policies
@pytest.mark.needs_gradients
@gradient_settings()
@given(example=POLICY_LAYERS)
@contract_property  # siblings reuse the model's compiled train function
def test_training_step_under_a_dtype_policy_follows_reference_gradient(target, example):
    """L7 under a policy: one `train_on_batch` (SGD, LEARNING_RATE; wrapped in the
    LossScaleOptimizer mixed_float16 trains with, its first applied step) changes each
    weight variable by -LEARNING_RATE x the reference's dL'/d weight."""
    if target.mode != "predict":
        pytest.skip("not applicable: train_on_batch trains a Model, the path of the 'predict' mode (L7)")
    policy = example.layer.dtype_policy
    variable_dtype = np.float32 if policy.startswith("mixed") else numpy_dtype(policy)
    for routed in mask_routes(example):
        assert_agrees_with_reference(run_backend(target, routed, "L7"), expected_layer_result(routed), routed, target)
        weights = training_weights(routed, layer_loss_weights(routed))
        reference = reference_layer_gradients(routed, weights)
        assume(any(np.any(g != 0) for g in reference.weights))  # Keras refuses a loss of no weight
        deltas = crashes_as_divergences(target, routed, "L7", lambda: target.backend.train_step(routed, weights, LEARNING_RATE))
        found = training_step_problems(deltas, reference.weights, differentiated(routed).weights, _tolerance(routed), variable_dtype)
        if found:
            raise Divergence("L7", f"one train_on_batch step under {policy} (SGD, learning rate {LEARNING_RATE}) does not move "
                             "the weights by -learning rate x the reference gradient (shown: -change / learning rate)",
                             found, routed, target)
