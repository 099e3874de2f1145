"""The layer contract (L1-L8) on a user's own cell (--cell MODULE:CLASS).

The properties of conformance/properties/test_layer.py, with the cell fixed to the user's and
everything else drawn: batch sizes, lengths, every mask family and route, options,
initial states given or not, Bidirectional, and the cell stacked with itself; then L7,
its weight gradients and one training step, on the rows that train. The expected values
are the reference loop driven by the user's own `call` under Keras' NumPy backend with
the same weights (conformance/contract/user_cell_reference.py). Collected only with --cell
(conformance/harness/user_cell_plugin.py).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cells.layer_strategies import MASKED_FAMILIES, layer_options, rnn_options_of_the_layer
from cells.user_cell_strategies import hands_on_a_sequence, stacks_with_itself, user_layer_examples, user_stacked_layer_examples
from conformance.judge.assertions import assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.judge.layer_gradient_checks import check_layer_gradients, check_training_step
from conformance.contract.layer_reference import expected_layer_result
from conformance.base.profiles import gradient_settings
from conformance.judge.runs import assert_equivalent_runs, run_backend
from conformance.judge.stack_checks import check_hand_on
from conformance.harness.user_cell_plugin import structure
from conformance.contract.user_cell_reference import float64_reference_missing
from conformance.backends.layer_worker import remote_reference  # noqa: F401 (hands the oracle the worker that steps your cell)

CONTRACT_LEVEL = "layer"


def drawn(**kwargs):
    """Examples of the user's cell, built once the plugin has probed it."""
    return st.deferred(lambda: user_layer_examples(structure(), **kwargs))


@given(example=drawn())
@contract_property
def test_your_cell_agrees_with_reference(target, example):
    """L1, L2, L4: return_sequences x return_state x go_backwards x unroll x
    zero_output_for_mask, given or default initial states."""
    actual = run_backend(target, example, "L1")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@given(example=drawn(mask_families=MASKED_FAMILIES))
@contract_property
def test_your_cell_mask_routes_agree(target, example):
    """L3: a Masking layer in front gives what the `mask=` argument gives."""
    by_argument = example.changed(layer={"mask_route": "mask-argument"})
    by_masking_layer = example.changed(layer={"mask_route": "masking-layer"})
    relation = "a Masking layer and the mask= argument give different results"
    assert_equivalent_runs(target, by_argument, by_masking_layer, "L3", relation)


@given(example=drawn(option_strategy=rnn_options_of_the_layer(go_backwards=False),
                     layer_option_strategy=layer_options(bidirectional=True, state_size_as_int=False)))
@contract_property
def test_your_cell_in_bidirectional_agrees_with_reference(target, example):
    """L5: Bidirectional = the layer and its go_backwards copy, flipped back, concatenated."""
    actual = run_backend(target, example, "L5")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@pytest.mark.skipif(not stacks_with_itself(structure()),
                    reason="not applicable: the cell's output shape differs from its input shape, so a copy cannot take another's output")
@given(example=drawn(min_stacked=1, max_stacked=2))
@contract_property
def test_your_cell_stacked_with_itself_agrees_with_reference(target, example):
    """L6: a list of copies of the cell is their composition."""
    actual = run_backend(target, example, "L6")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@pytest.mark.skipif(not hands_on_a_sequence(structure()),
                    reason="not applicable: the cell's output is not one vector per step, or it reads constants, so no "
                    "layer of the suite's follows it")
@given(example=st.deferred(lambda: user_stacked_layer_examples(structure())))
@contract_property
def test_your_cell_hands_on_the_mask(target, example):
    """L8: your cell's layer, first in a stack of two or three behind a mask (the suite's
    cells after it), hands the next layer the mask L8 says, as built in every way."""
    check_hand_on(target, example)


def every_layer():
    """Plain, Bidirectional and (where the cell fits its own output) stacked, as L7 draws them."""
    layers = [drawn(), drawn(option_strategy=rnn_options_of_the_layer(go_backwards=False),
                             layer_option_strategy=layer_options(bidirectional=True, state_size_as_int=False))]
    if stacks_with_itself(structure()):
        layers.append(drawn(min_stacked=1, max_stacked=2))
    return st.one_of(layers)


@gradient_settings()
@given(example=st.deferred(every_layer))
@contract_property(siblings=False)  # Keras' gradients are taken eagerly: nothing to reuse
def test_your_cell_gradients_agree_with_reference(target, example):
    """L7 (with G2): dL/d x, the passed initial states and every weight of your cell equal
    central differences of the reference (your cell's call in float64), on each mask route."""
    target.require_gradients()
    if (missing := float64_reference_missing()) is not None:
        pytest.skip(missing)
    check_layer_gradients(target, example)


@gradient_settings()
@given(example=st.deferred(every_layer))
@contract_property
def test_your_cell_training_step_follows_reference_gradient(target, example):
    """L7: one train_on_batch (plain SGD) moves each weight of your cell by -learning rate
    times the reference gradient."""
    target.require_gradients()
    if target.mode != "predict":
        pytest.skip("not applicable: train_on_batch trains a Model, the path of the 'predict' mode (L7)")
    if (missing := float64_reference_missing()) is not None:
        pytest.skip(missing)
    check_training_step(target, example)
