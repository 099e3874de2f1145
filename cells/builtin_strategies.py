"""Hypothesis strategies for the built-in layers (issue 41): their cells, and layer examples.

The examples are the layer properties' own (cells/layer_strategies.py) with a built-in
cell in place of a random one: every mask family, go_backwards, return_sequences,
return_state, unroll, zero_output_for_mask, given or default initial states, both mask
routes, Bidirectional with every merge mode, stacks of layers. What a built-in layer
cannot take is not drawn: a list of cells (L6 is the generic `RNN`'s), `state_size` as an
int, a Masking layer before a ConvLSTM (it would mask per position, not per step).

Each example draws its path (`LayerOptions.path`, the whole stack alike): "own", the layer
as a user writes it, or "generic", the generic `RNN` loop, half the time each, so both are
held to the reference in every mode without running every example twice. The backends' own
kernels take only some configurations (tanh and sigmoid, a bias, no unroll, no mask:
keras/src/backend/*/rnn.py `cudnn_ok`, torch's fallback, OpenVINO's LSTMSequence), so those
are drawn half the time: an own path that never reached its kernel would say nothing about
it. `RNN_CONFORMANCE_GPU=1` (the GPU command) draws both, the own path and the
kernel-friendly configurations, three times in four.
"""

import os
from dataclasses import replace

from hypothesis import strategies as st

from cells.builtin_cell import ACTIVATIONS, KINDS, PATHS, BuiltinCellStructure
from cells.layer_example import NextLayer
from cells.layer_strategies import (
    layer_examples,
    layer_options,
    rnn_options_of_the_layer,
    stack_layer_options,
)
from cells.spec import CellSpec
from cells.strategies import MASK_FAMILIES, data_arrays

GPU_VARIABLE = "RNN_CONFORMANCE_GPU"
RECURRENT = ("SimpleRNN", "LSTM", "GRU")  # the kinds whose sequence another layer takes
UNITS = st.integers(1, 3)
FEATURES = st.integers(1, 3)
# ConvLSTM is costly to run (eager JAX: about 1 s an example) and its loop is the generic
# one on every backend: drawn in 1 of 9 (the top-ups add one where a sample has none).
KIND_WEIGHTS = {"SimpleRNN": 4, "LSTM": 6, "GRU": 6, "ConvLSTM1D": 1, "ConvLSTM2D": 1}


def _kernel_friendly_share():
    return 0.75 if os.environ.get(GPU_VARIABLE) == "1" else 0.5


def _paths_to_draw():
    """PATHS' own ("own", where a failure on both paths shrinks to) once and generic once;
    under the GPU command own three times for one."""
    return (PATHS[0],) * (3 if os.environ.get(GPU_VARIABLE) == "1" else 1) + (PATHS[1],)


@st.composite
def _on_a_drawn_path(draw, examples):
    """An example of `examples` on the path it draws (`_paths_to_draw`), every layer alike."""
    example = draw(examples)
    path = draw(st.sampled_from(_paths_to_draw()))
    further = tuple(replace(n, layer=n.layer.changed(path=path)) for n in example.next_layers)
    return example.changed(layer={"path": path}, **({"next_layers": further} if further else {}))


@st.composite
def builtin_structures(draw, input_shape=None, kinds=KINDS):
    """A built-in cell Keras accepts. `input_shape`: what it must take (a later layer of a
    stack takes the previous one's sequence, so it is not a ConvLSTM)."""
    pool = [k for k in kinds for _ in range(KIND_WEIGHTS[k])]
    if input_shape is not None:
        pool = [k for k in pool if not k.startswith("Conv")]
    kind = draw(st.sampled_from(pool))
    friendly = draw(st.floats(0, 1)) < _kernel_friendly_share()
    activation = "tanh" if friendly else draw(st.sampled_from(ACTIVATIONS))
    recurrent_activation = "sigmoid" if friendly else draw(st.sampled_from(ACTIVATIONS))
    fields = dict(kind=kind, units=draw(UNITS), activation=activation, recurrent_activation=recurrent_activation,
                  use_bias=True if friendly else draw(st.booleans()), reset_after=draw(st.booleans()))
    if kind.startswith("Conv"):
        fields.update(draw(conv_configurations(1 if kind == "ConvLSTM1D" else 2)))
    else:
        fields["input_shape"] = input_shape or (draw(FEATURES),)
    return BuiltinCellStructure(**fields)


@st.composite
def conv_configurations(draw, rank):
    """Kernel, strides, dilation and padding Keras accepts: strides > 1 with dilation > 1
    is refused (conv_lstm.py 128-135); "valid" needs n >= d (k - 1) + 1 on every axis."""
    kernel_size = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    dilation = (1,) * rank if max(strides) > 1 else tuple(draw(st.integers(1, 2)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    least = [d * (k - 1) + 1 if padding == "valid" else 1 for k, d in zip(kernel_size, dilation)]
    spatial = tuple(draw(st.integers(n, n + 1)) for n in least)
    return dict(kernel_size=kernel_size, strides=strides, dilation_rate=dilation, padding=padding,
                input_shape=(*spatial, draw(FEATURES)))


@st.composite
def _builtin_specs(draw, input_shape=None, kinds=KINDS):
    structure = draw(builtin_structures(input_shape, kinds))
    weights = tuple(tuple(draw(data_arrays("float32", shape)).ravel().tolist()) for shape in structure.weight_shapes())
    return CellSpec(structure, weights)


def builtin_cell_specs(input_shape=None):
    """`cell_specs_for` of cells/layer_strategies.py: built-in cells and their weights."""
    return _builtin_specs(input_shape)


def _options(**fixed):
    """The layer options a built-in layer takes (no state_size as an int)."""
    return layer_options(state_size_as_int=False, **fixed)


# No mask a third of the time (every family else): torch's own LSTM and GRU and OpenVINO's
# sequence ops take no mask, so with a ninth an own-path mode reached its kernel in about 1
# of 9 examples (the first run: torch's own-call 29 of 265).
BUILTIN_MASK_FAMILIES = st.sampled_from(("none",) * 4 + tuple(MASK_FAMILIES))


def builtin_layer_examples(mask_families=BUILTIN_MASK_FAMILIES, kinds=KINDS):
    """L1, L2, L4: one built-in layer (of `kinds`) with every option it has."""
    return _on_a_drawn_path(layer_examples(layer_option_strategy=_options(), mask_families=mask_families,
                                           cell_specs_for=lambda input_shape=None: _builtin_specs(input_shape, kinds)).map(_fit))


def builtin_bidirectional_examples(kinds=RECURRENT):
    """L5: a built-in layer (of `kinds`: LSTM, GRU, SimpleRNN; a ConvLSTM in Bidirectional
    was drawn too rarely at 1 in 9 to be asked of every sample) in Bidirectional, any merge mode."""
    return _on_a_drawn_path(layer_examples(option_strategy=rnn_options_of_the_layer(go_backwards=False),
                                           layer_option_strategy=stack_layer_options(bidirectional=True, state_size_as_int=False),
                                           mask_families=BUILTIN_MASK_FAMILIES,
                                           cell_specs_for=lambda input_shape=None: _builtin_specs(input_shape, kinds)).map(_fit))


def builtin_gradient_examples():
    """L7: a built-in layer, alone or in Bidirectional, on both mask routes (so no ConvLSTM:
    a Masking layer masks it per position; its gradients are its loop's, checked on the
    generic one by the custom-cell rows)."""
    return st.one_of(builtin_layer_examples(kinds=RECURRENT), builtin_bidirectional_examples(kinds=RECURRENT))


def builtin_stack_examples(mask_families=st.sampled_from([f for f in MASK_FAMILIES if f != "none"])):
    """L8: two built-in layers behind a mask (`_stacks_of_two`), on a drawn path."""
    return _on_a_drawn_path(_stacks_of_two(mask_families))


@st.composite
def _stacks_of_two(draw, mask_families):
    """L8: two built-in layers, the first returning its sequence, the second handed its
    mask. Neither is a ConvLSTM: its sequence (B, T, *spatial, filters) is no input of
    another built-in layer but a ConvLSTM, and ConvLSTM's masks are drawn alone."""
    first = draw(layer_examples(option_strategy=rnn_options_of_the_layer(return_all_outputs=True),
                                layer_option_strategy=_options(return_state=False), mask_families=mask_families,
                                cell_specs_for=lambda input_shape=None: _builtin_specs(input_shape, RECURRENT)))
    first = _fit(first)
    width = first.spec.structure.units
    spec = draw(builtin_cell_specs((width,)))
    layer = draw(stack_layer_options(mask_route="mask-argument", bidirectional=False, state_size_as_int=False))
    options = draw(rnn_options_of_the_layer())
    states = tuple(draw(data_arrays("float32", (first.batch,) + s.shape, nonzero=True)) for s in spec.structure.states)
    return first.changed(next_layers=(NextLayer(spec=spec, options=options, layer=layer, initial_states=states),),
                         stack_build="functional")


def _fit(example):
    """A ConvLSTM's mask comes by the mask= argument (a Masking layer masks per position),
    and it does not unroll (the layer has no `unroll`: the example says what ran)."""
    if not example.spec.structure.rank:
        return example
    if example.layer.mask_route != "mask-argument":
        example = example.changed(layer={"mask_route": "mask-argument"})
    return example.changed(options={"unroll": False}) if example.options.unroll else example



def builtin_stateful_examples():
    """L9: one built-in layer (not Bidirectional) of two steps or more, its mask by the
    `mask=` argument, no unroll (its batches have other lengths than the whole), starting
    from zeros as a new stateful layer does; it returns its states."""
    return _on_a_drawn_path(layer_examples(
        option_strategy=rnn_options_of_the_layer(unroll=False),
        layer_option_strategy=_options(return_state=True, initial_state=False, mask_route="mask-argument"),
        cell_specs_for=builtin_cell_specs).filter(lambda example: example.steps >= 2))
