"""The built-in layers (issue 41): LSTM, GRU, SimpleRNN, ConvLSTM1D/2D, on their own paths.

These run on the built-in rows (conformance/backends/builtin_layers.py), whose modes say the
path: "own-*" (the layer as a user writes it; the backend's own kernel where it takes the
configuration) and "generic-*" (the generic `RNN` loop). Both are held to the same
reference: the layer contract (L1-L5, L7, L8, L9) over the literal one-step references of
conformance/contract/builtin_cells.py, run by the reference loop. They share the default
run's budget: each draws profiles.BUILTIN_EXAMPLES (ci: 3).
"""

from hypothesis import given
from hypothesis import strategies as st

from cells.builtin_strategies import (
    RECURRENT,
    builtin_bidirectional_examples,
    builtin_gradient_examples,
    builtin_layer_examples,
    builtin_stack_examples,
    builtin_stateful_examples,
)
from cells.layer_strategies import MASKED_FAMILIES
from conformance.base.profiles import builtin_settings, gradient_settings
from conformance.contract.layer_reference import expected_layer_result
from conformance.judge.assertions import assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.judge.layer_gradient_checks import check_layer_gradients
from conformance.judge.runs import assert_equivalent_runs, run_backend
from conformance.judge.stack_checks import check_hand_on
from conformance.judge.stateful_checks import check_stateful

CONTRACT_LEVEL = "builtin"


@builtin_settings()
@given(example=builtin_layer_examples())
@contract_property
def test_builtin_layer_agrees_with_reference(target, example):
    """L1, L2, L4 on a built-in layer: return_sequences x return_state x go_backwards x
    unroll x zero_output_for_mask, given or default initial states, every mask family."""
    actual = run_backend(target, example, "L1")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@builtin_settings()
@given(example=builtin_layer_examples(mask_families=MASKED_FAMILIES, kinds=RECURRENT))
@contract_property
def test_builtin_mask_routes_agree(target, example):
    """L3: a Masking layer in front of a built-in layer gives what `mask=` gives (not for
    a ConvLSTM, which a Masking layer masks per position)."""
    by_argument = example.changed(layer={"mask_route": "mask-argument"})
    by_masking_layer = example.changed(layer={"mask_route": "masking-layer"})
    relation = "a Masking layer and the mask= argument give different results"
    assert_equivalent_runs(target, by_argument, by_masking_layer, "L3", relation)


@builtin_settings()
@given(example=builtin_bidirectional_examples())
@contract_property
def test_builtin_bidirectional_agrees_with_reference(target, example):
    """L5: Bidirectional over a built-in layer, every merge mode (Keras 3 fuses a pair of
    LSTMs or GRUs into one kernel call where the backend has one: bidirectional_lstm)."""
    actual = run_backend(target, example, "L5")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@builtin_settings()
@given(example=builtin_stack_examples())
@contract_property
def test_builtin_stack_hands_on_the_mask(target, example):
    """L8: two built-in layers behind a mask give what they give when the second is
    handed its mask explicitly."""
    check_hand_on(target, example)


@gradient_settings()
@given(example=builtin_gradient_examples())
@contract_property(siblings=False)  # Keras' gradients are taken eagerly: nothing to reuse
def test_builtin_layer_gradients_agree_with_reference(target, example):
    """L7 (with G2): dL/d x, the passed initial states and every weight of a built-in layer
    (alone or in Bidirectional) equal the reference's on each mask route; masked inputs get
    exactly 0. On a GPU this is where cuDNN's backward pass is checked (docs/gpu.md)."""
    target.require_gradients()
    check_layer_gradients(target, example)


@builtin_settings()
@given(example=builtin_stateful_examples(), first_cut=st.integers(1, 3), second_cut=st.integers(0, 3))
@contract_property(siblings=False)
def test_builtin_stateful_layer_carries_its_states(target, example, first_cut, second_cut):
    """L9: a stateful built-in layer called on consecutive batches (the time axis cut in
    two or three, at the cuts drawn kept inside the sequence; a second cut of 0 is none)
    starts each from the states the batch before ended with, per sample and masked steps
    included; reset_states() starts it again from zeros."""
    check_stateful(target, example, sorted({min(c, example.steps - 1) for c in (first_cut, second_cut) if c}))
