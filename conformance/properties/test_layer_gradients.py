"""Rule L7: the `RNN` layer's gradients, and one training step, against the layer reference.

These run on the layer rows (conformance/backends/layers.py), each in its Keras' worker.
The reference's gradients are central differences of the layer reference in float64
(conformance/contract/layer_gradient_reference.py), compared by conformance/judge/layer_gradient_checks.py
(its GRADIENT_TOLERANCE is measured, not section 5's float64 tolerance; G2's exact zero at
masked inputs holds in any dtype and is checked exactly).
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cells.layer_strategies import layer_examples, layer_options, rnn_options_of_the_layer
from conformance.judge.assertions import Divergence, assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.judge.layer_gradient_checks import (
    LEARNING_RATE,
    _allowed,
    _differences,
    _layer_gradients,
    _shape_problems,
    assert_close_to_reference,
    assert_masked_inputs_get_no_gradient,
    mask_routes,
)
from conformance.contract.layer_gradient_reference import (
    as_result,
    differentiated,
    layer_loss_weights,
    reference_layer_gradients,
    training_weights,
)
from conformance.contract.layer_reference import layer_outputs
from conformance.base.profiles import gradient_settings
from conformance.judge.runs import crashes_as_divergences, run_backend

CONTRACT_LEVEL = "layer"

# Every layer the forward properties draw: plain, Bidirectional (L5), stacked cells (L6).
LAYERS = st.one_of(
    layer_examples(),
    layer_examples(
        option_strategy=rnn_options_of_the_layer(go_backwards=False),
        layer_option_strategy=layer_options(bidirectional=True),
    ),
    layer_examples(min_stacked=1, max_stacked=2),
)


@gradient_settings()
@given(example=LAYERS)
@contract_property(siblings=False)  # Keras' gradients are taken eagerly: nothing to reuse
def test_layer_gradients_agree_with_reference(target, example):
    """L7 (with G2): dL/d x, dL/d the passed initial states and dL/d every cell weight of
    every copy equal the layer reference's, on each mask route; masked inputs get exactly 0."""
    target.require_gradients()
    for routed in mask_routes(example):
        weights = layer_loss_weights(routed)
        result, grads = crashes_as_divergences(
            target, routed, "L7", lambda: target.backend.run_layer_gradients(routed, target.mode, weights)
        )
        # The forward result first: a wrong forward pass is its own rule's finding (L1-L6).
        assert_agrees_with_reference(result, as_result(layer_outputs(routed)), routed, target)
        got = _layer_gradients(grads)
        assert_masked_inputs_get_no_gradient(got, routed, target)
        assert_close_to_reference(got, reference_layer_gradients(routed, weights), routed, target)


@gradient_settings()
@given(example=LAYERS)
@contract_property  # siblings reuse the model's compiled train function
def test_training_step_follows_reference_gradient(target, example):
    """L7: one `train_on_batch` (SGD, learning rate LEARNING_RATE) of the model changes
    each cell weight by -LEARNING_RATE times the reference's dL'/d weight, on each route
    (L' = L with the output steps Keras' loss masking reaches zeroed: training_weights)."""
    target.require_gradients()
    if target.mode != "predict":
        pytest.skip("not applicable: train_on_batch trains a Model, the path of the 'predict' mode (L7)")
    for routed in mask_routes(example):
        # The forward result first (the same built model): a wrong forward pass is its own
        # rule's finding (L1-L6), and every gradient of it differs too.
        assert_agrees_with_reference(run_backend(target, routed, "L7"), as_result(layer_outputs(routed)), routed, target)
        weights = training_weights(routed, layer_loss_weights(routed))
        reference = reference_layer_gradients(routed, weights)
        # A loss that depends on no weight has nothing to train: Keras' optimizers refuse
        # it by design ("No gradients provided for any variable"), so it is not drawn.
        assume(any(np.any(g != 0) for g in reference.weights))
        deltas = crashes_as_divergences(
            target, routed, "L7", lambda: target.backend.train_step(routed, weights, LEARNING_RATE)
        )
        start = differentiated(routed).weights
        found = _shape_problems("weights", deltas, reference.weights)
        for i, (delta, want, w) in enumerate(zip(deltas, reference.weights, start)) if not found else ():
            delta = np.asarray(delta, np.float64)
            # the float32 update rounds to a spacing of the weight: one each side
            slack = LEARNING_RATE * _allowed(want) + 2 * np.spacing(np.abs(w).astype(np.float32)).astype(np.float64)
            found += _differences(f"weights[{i}]", -delta / LEARNING_RATE, want, np.abs(delta + LEARNING_RATE * want) > slack)
        if found:
            raise Divergence("L7", f"one train_on_batch step (SGD, learning rate {LEARNING_RATE}) does not move the weights "
                             "by -learning rate x the reference gradient (shown: -change / learning rate)", found, routed, target)
