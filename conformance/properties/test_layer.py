"""Contract section 2: the `RNN` layer (L1-L6), with random custom cells.

These run on the layer backends (`layer-keras-jax`, ...), each in a worker process of its
own Keras. Every property compares the layer with `conformance.contract.layer_reference`, the
function-level reference plus what the layer adds, or two routes of the same layer.
"""

import numpy as np
import pytest
from hypothesis import given

from cells.catalog import report_2018_spec
from cells.example import Options
from cells.layer_example import LayerExample, LayerOptions
from cells.layer_strategies import MASKED_FAMILIES, layer_examples, layer_options, rnn_options_of_the_layer
from conformance.judge.assertions import assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.contract.layer_reference import expected_layer_result
from conformance.judge.runs import assert_equivalent_runs, run_backend

CONTRACT_LEVEL = "layer"


@given(example=layer_examples())
@contract_property
def test_layer_agrees_with_reference(target, example):
    """L1, L2, L4 (and section 1 through them): return_sequences x return_state x
    go_backwards x unroll x zero_output_for_mask, given or default initial states,
    state_size an int or a list, output_size unlike any state size."""
    actual = run_backend(target, example, "L1")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@given(example=layer_examples(mask_families=MASKED_FAMILIES))
@contract_property
def test_mask_routes_agree(target, example):
    """L3: a Masking layer in front gives what the `mask=` argument gives."""
    by_argument = example.changed(layer={"mask_route": "mask-argument"})
    by_masking_layer = example.changed(layer={"mask_route": "masking-layer"})
    relation = "a Masking layer and the mask= argument give different results"
    assert_equivalent_runs(target, by_argument, by_masking_layer, "L3", relation)


@given(
    example=layer_examples(
        option_strategy=rnn_options_of_the_layer(go_backwards=False),
        layer_option_strategy=layer_options(bidirectional=True),
    )
)
@contract_property
def test_bidirectional_agrees_with_reference(target, example):
    """L5: Bidirectional = the layer and its go_backwards copy, flipped back, concatenated."""
    actual = run_backend(target, example, "L5")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


@given(example=layer_examples(min_stacked=1, max_stacked=2))
@contract_property
def test_stacked_cells_agree_with_reference(target, example):
    """L6: a list of cells is their composition; only the last cell's output is emitted."""
    actual = run_backend(target, example, "L6")
    assert_agrees_with_reference(actual, expected_layer_result(example), example, target)


def report_2018_layer_example(repeats, unroll):
    """keras#11472 as reported: a custom cell emitting its input (output size `repeats`,
    state size 1), inputs [[1], [2], [0]] behind a Masking layer, initial state 10."""
    return LayerExample(
        spec=report_2018_spec(repeats),
        options=Options(unroll=unroll, return_all_outputs=False),
        inputs=(np.array([[[1.0], [2.0], [0.0]]], dtype="float32"),),
        initial_states=(np.array([[10.0]], dtype="float32"),),
        constants=(),
        mask=np.array([[True, True, False]]),
        mask_family="right-padded",
        layer=LayerOptions(return_state=True, initial_state=True, mask_route="masking-layer"),
    )


@pytest.mark.parametrize("unroll", [False, True], ids=["scan", "unrolled"])
@pytest.mark.parametrize("repeats", [1, 2], ids=["output-size-1", "output-size-2"])
def test_2018_report(target, repeats, unroll):
    """The two cells of keras#11472: the last output is 2 (or [2, 2]) and the state 12;
    the faulty loop returned the state (11) at the masked step."""
    example = report_2018_layer_example(repeats, unroll)
    # The agreement property's body, with its known-divergence check, on this one example.
    test_layer_agrees_with_reference.hypothesis.inner_test(target=target, example=example)
