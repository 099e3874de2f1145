"""Contract section 2, L8: the mask a layer hands on, through stacks of layers behind a mask.

`Masking -> RNN(return_sequences=True) -> RNN` is how masks are used in practice, and
nothing of L1-L7 sees what one layer hands the next. The stack runs as built (a functional
`Model`, a `Sequential` one, or eager calls; the mask entering the first layer by an L3
route) and again with every later layer given, as its `mask=`, the mask L8 says: the same
layers, data and weights, so any difference is a mask handed on wrongly, not a layer's
own divergence (L1-L7 hold each layer to the reference; conformance/judge/stack_checks.py).
"""

from hypothesis import given

from cells.layer_strategies import stacked_layer_examples
from conformance.judge.checks import contract_property
from conformance.judge.stack_checks import check_hand_on

CONTRACT_LEVEL = "layer"


@given(example=stacked_layer_examples())
@contract_property
def test_stacked_layers_hand_on_the_mask(target, example):
    """L8: a stack of two or three layers (any cells and options, Bidirectional in any
    position and merge mode, given or default initial states) behind a mask gives what it
    gives when each later layer is handed its mask explicitly: its input mask, reversed
    after a go_backwards layer, as the layer before it must hand it on."""
    check_hand_on(target, example)
