"""Hypothesis strategies for the `RNN` layer: cells its API can hold, layer options, data.

A layer cell has what `keras.layers.RNN` accepts (L4): one input tensor, one or more
rank-1 states (`state_size` an int or a list of ints), one rank-1 output whose size may
differ from every state size, no constants. Everything else (masks, states of different
sizes, the 2018 "echo" and "state0" outputs) comes from the function-level strategies.
"""

import functools

import numpy as np
from hypothesis import strategies as st

from cells.layer_example import (
    DTYPE_POLICIES,
    MASK_ROUTES,
    MASK_VALUE,
    MERGE_MODES,
    STACK_BUILDS,
    WEIGHTS_LAYOUTS,
    LayerExample,
    LayerOptions,
    NextLayer,
)
from cells.spec import ACTIVATIONS
from cells.strategies import LOW_PRECISION_HIDDEN_ACTIVATIONS, MASK_FAMILIES, cell_specs, cell_structures, data_arrays, masks, options

LAYER_INPUT_SHAPES = ((1,), (2,), (3,))
LAYER_STATE_SHAPES = ((2,), (1,), (3,))
LAYER_OUTPUT_SHAPES = ((2,), (1,), (3,), (4,))
BATCH_SIZES = st.integers(1, 3)
# Every mask family that has a mask: the mask-route property (L3) needs one to route.
MASKED_FAMILIES = st.sampled_from([f for f in MASK_FAMILIES if f != "none"])
TIME_STEPS = st.integers(1, 4)


@functools.cache  # built once per input shape (stacked cells ask for it in every draw)
def layer_cell_specs(input_shape=None, hidden_activations=ACTIVATIONS):
    """Float32 cells with one input (of `input_shape` when given), rank-1 states and output."""
    structures = cell_structures(
        dtype=st.just("float32"),  # the layer computes in its float32 compute dtype
        input_shapes=LAYER_INPUT_SHAPES if input_shape is None else (input_shape,),
        state_shapes=LAYER_STATE_SHAPES,
        output_shapes=LAYER_OUTPUT_SHAPES,
        max_inputs=1,
        min_states=1,
        max_outputs=1,
        max_constants=0,
        hidden_activations=hidden_activations,
    )
    return cell_specs(structures)


def squashing_layer_cell_specs(input_shape=None):
    """Layer cells whose hidden layer squashes (tanh, sigmoid): what a layer under a low
    dtype policy draws, as the function's low-precision examples do (cells/strategies.py):
    a linear hidden layer fed its own state amplifies rounding past any fixed tolerance
    (measured: 0.047 off after 2 steps in bfloat16, against 0.039 allowed)."""
    return layer_cell_specs(input_shape, LOW_PRECISION_HIDDEN_ACTIVATIONS)


def layer_options(**fixed):
    choices = dict(
        return_state=st.booleans(),
        initial_state=st.booleans(),
        state_size_as_int=st.booleans(),
        mask_route=st.sampled_from(MASK_ROUTES),
        bidirectional=st.just(False),
    )
    choices.update({name: st.just(value) for name, value in fixed.items()})
    return st.builds(LayerOptions, **choices)


def policy_layer_options(policies=DTYPE_POLICIES[1:], **fixed):
    """`layer_options(**fixed)` under one of `policies` (the low-precision ones by
    default: the mixed policies and float16 and bfloat16 as plain layer dtypes) and
    either weights layout (issue 40)."""
    return st.builds(lambda lo, policy, layout: lo.changed(dtype_policy=policy, weights_layout=layout),
                     layer_options(**fixed), st.sampled_from(policies), st.sampled_from(WEIGHTS_LAYOUTS))


def policy_layer_examples():
    """What the forward layer properties draw (plain, Bidirectional (L5), stacked cells
    (L6)), under a drawn dtype policy and weights layout."""
    cells = squashing_layer_cell_specs
    return st.one_of(
        layer_examples(layer_option_strategy=policy_layer_options(), cell_specs_for=cells),
        layer_examples(option_strategy=rnn_options_of_the_layer(go_backwards=False),
                       layer_option_strategy=policy_layer_options(bidirectional=True), cell_specs_for=cells),
        layer_examples(layer_option_strategy=policy_layer_options(), min_stacked=1, max_stacked=2, cell_specs_for=cells),
    )


def rnn_options_of_the_layer(**fixed):
    """The `rnn` options an `RNN` layer sets (go_backwards, unroll, zero_output_for_mask,
    return_all_outputs = return_sequences); the layer fixes the others at their defaults."""
    fixed = {"time_major": False, "pass_input_length": False, "mask_format": "bool", **fixed}
    return options(**fixed)


@st.composite
def layer_examples(
    draw,
    option_strategy=rnn_options_of_the_layer(),
    layer_option_strategy=layer_options(),
    mask_families=st.sampled_from(MASK_FAMILIES),
    min_stacked=0,
    max_stacked=0,
    cell_specs_for=layer_cell_specs,
):
    """A layer case. Inputs are non-zero everywhere except masked steps, which hold
    MASK_VALUE in every feature: the mask-argument and Masking-layer routes see one mask.
    `cell_specs_for(input_shape)` is the strategy of the cells (None: any input shape);
    a user's cell (--cell) brings its own (cells/user_cell_strategies.py)."""
    spec = draw(cell_specs_for())
    stacked = []
    previous = spec
    for _ in range(draw(st.integers(min_stacked, max_stacked))):
        previous = draw(cell_specs_for(input_shape=previous.structure.outputs[0].shape))
        stacked.append(previous)
    batch, steps = draw(BATCH_SIZES), draw(TIME_STEPS)
    family = draw(mask_families)
    mask = draw(masks(batch, steps, family))
    layer = draw(layer_option_strategy)
    if len(spec.structure.states) != 1 or stacked:
        layer = layer.changed(state_size_as_int=False)
    if mask is None:
        layer = layer.changed(mask_route="mask-argument")
    x = draw(data_arrays("float32", (batch, steps) + spec.structure.input_shapes[0], nonzero=True))
    if mask is not None:
        x[~mask] = MASK_VALUE
    states = [
        draw(data_arrays("float32", (batch,) + s.shape, nonzero=True))
        for cell in [spec] + stacked
        for s in cell.structure.states
    ]
    return LayerExample(
        spec=spec,
        options=draw(option_strategy),
        inputs=(x,),
        initial_states=tuple(states),
        constants=(),
        mask=mask,
        mask_family=family,
        layer=layer,
        stacked=tuple(stacked),
    )


def with_inputs_at_masked_steps(example, value):
    """The example with every masked step's input set to `value` (mask unchanged)."""
    x = np.array(example.inputs[0])
    x[~np.asarray(example.mask, bool)] = value
    return example.changed(inputs=(x,))


def stack_layer_options(**fixed):
    """The layer options of a layer in a stack (L8): any merge mode that gives one sequence."""
    choices = dict(
        return_state=st.booleans(),
        initial_state=st.booleans(),
        state_size_as_int=st.booleans(),
        mask_route=st.sampled_from(MASK_ROUTES),
        bidirectional=st.booleans(),
        merge_mode=st.sampled_from(MERGE_MODES),
    )
    choices.update({name: st.just(value) for name, value in fixed.items()})
    return st.builds(LayerOptions, **choices)


STACK_SIZES = st.integers(2, 3)


@st.composite
def stacked_layer_examples(draw, mask_families=MASKED_FAMILIES, cell_specs_for=layer_cell_specs, first_layer_fixed=None):
    """L8: a stack of two or three `RNN` layers behind a mask, each with a cell of its own
    and every option of L1-L5 (`Bidirectional` in any position, running forward as L5
    draws it); every layer but the last returns its sequence, only the last may return
    its states (not in a `Sequential` model, whose layers have one output each). The first
    layer's mask takes an L3 route; the others' is handed on. A `Sequential` build takes
    the mask from a Masking layer and no initial state.
    `cell_specs_for` draws the first layer's cell (a user's, --cell: `first_layer_fixed`
    then fixes its options); the later layers have the suite's own."""
    build = draw(st.sampled_from(STACK_BUILDS))
    fixed = {"mask_route": "masking-layer", "initial_state": False} if build == "sequential" else {}
    first = draw(layer_examples(option_strategy=rnn_options_of_the_layer(return_all_outputs=True),
                                layer_option_strategy=stack_layer_options(**{**fixed, **(first_layer_fixed or {}),
                                                                            "return_state": False}),
                                mask_families=mask_families, cell_specs_for=cell_specs_for))
    further, previous = [], first
    count = draw(STACK_SIZES)
    for k in range(1, count):
        last = k == count - 1
        spec = draw(layer_cell_specs(input_shape=(_sequence_width(previous.spec, previous.layer),)))
        # (a Sequential model's layers have one output each: tf_keras refuses a last layer's states there)
        one_output = not last or build == "sequential"
        layer = draw(stack_layer_options(**{**fixed, "mask_route": "mask-argument", **({"return_state": False} if one_output else {})}))
        options = draw(rnn_options_of_the_layer(**({} if last else {"return_all_outputs": True})))
        if len(spec.structure.states) != 1:
            layer = layer.changed(state_size_as_int=False)
        if layer.bidirectional:
            options = options.changed(go_backwards=False)
        states = tuple(draw(data_arrays("float32", (first.batch,) + s.shape, nonzero=True)) for s in spec.structure.states)
        further.append(NextLayer(spec=spec, options=options, layer=layer, initial_states=states))
        previous = further[-1]
    if first.layer.bidirectional:
        first = first.changed(options={"go_backwards": False})
    return first.changed(next_layers=tuple(further), stack_build=build)


def _sequence_width(spec, layer):
    """The width of a layer's output sequence: its cell's output size, twice for a
    Bidirectional that concatenates its halves."""
    width = spec.structure.outputs[0].shape[0]
    return 2 * width if layer.bidirectional and layer.merge_mode == "concat" else width
