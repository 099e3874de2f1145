"""Hypothesis strategies: random cells, loop options, masks and data.

Shapes come from small fixed sets so that compiled backends meet the same shapes again
and can reuse traced functions. Every `sampled_from` lists its simplest choice first:
that is where Hypothesis shrinks to, so a minimal counterexample reads naturally
(B = 1, T = 1, one dense state, no mask, ...).
"""

import functools
from math import prod

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cells.dtypes import LOW_PRECISION, numpy_dtype
from cells.example import MASK_FORMATS, Example, Options
from cells.spec import ACTIVATIONS, STATE_KINDS, CellSpec, CellStructure, OutputSpec, StateSpec

DTYPES = ("float32", "float64")
# Low precision (CONTRACT.md section 3) draws its own examples: a hidden layer that
# squashes, so that no value of the carry can outgrow float16 (65504) in six steps; a
# linear hidden layer fed its own state grows geometrically.
LOW_PRECISION_HIDDEN_ACTIVATIONS = ("tanh", "sigmoid")
BATCH_SIZES = st.integers(1, 4)
TIME_STEPS = st.integers(1, 6)
INPUT_SHAPES = ((1,), (2,), (3,), (2, 2))
STATE_SHAPES = ((2,), (1,), (3,), (2, 2), (1, 3), (2, 1, 2), (1, 2, 2))
OUTPUT_SHAPES = ((2,), (1,), (3,), (4,), (2, 3), (1, 2, 2))
HIDDEN_SIZES = (2, 1, 3)
# Exactly representable in float32, so float32 and float64 cells hold the same weights.
WEIGHT_VALUES = (0.5, -0.5, 1.0, -1.0, 0.25, -0.75, 1.5, -1.25, 0.125, 2.0)
# Data values lie in [-VALUE_BOUND, VALUE_BOUND]; "non-zero" ones at least NONZERO_MIN away from 0.
VALUE_BOUND, NONZERO_MIN = 2.0, 0.25

MASK_FAMILIES = (
    "none",
    "all-true",
    "all-false",
    "first-step-masked",
    "right-padded",
    "left-padded",
    "interior-holes",
    "per-sample",
    "one-fully-masked-row",
)


def cell_structures(
    dtype=st.sampled_from(DTYPES),
    input_shapes=INPUT_SHAPES,
    state_shapes=STATE_SHAPES,
    output_shapes=OUTPUT_SHAPES,
    max_inputs=2,
    min_states=0,
    max_outputs=2,
    max_constants=2,
    hidden_activations=ACTIVATIONS,
    state0_first=False,
):
    """Random wiring over small shape sets; see `CellStructure.families` for what it covers.

    The keyword arguments narrow the space where an API is narrower (the `RNN` layer's
    cells: one input, rank-1 states, one output, no constants). `state0_first`: a cell
    with states emits its first state as its first output, so every step's state shows. The parts are built once
    here, not in every draw: building and validating strategies was most of the cost of
    drawing an example.
    """
    input_lists = st.lists(st.sampled_from(input_shapes), min_size=1, max_size=max_inputs)
    state_lists = st.lists(
        st.builds(
            StateSpec,
            shape=st.sampled_from(state_shapes),
            kind=st.sampled_from(STATE_KINDS),
            activation=st.sampled_from(ACTIVATIONS),
        ),
        min_size=min_states,
        max_size=3,
    )
    output_counts = st.integers(1, max_outputs)
    output_kinds = {False: st.sampled_from(["dense", "echo"]), True: st.sampled_from(["dense", "echo", "state0"])}
    echo_repeats, output_shape_choices = st.integers(1, 2), st.sampled_from(output_shapes)
    activations, hidden_sizes = st.sampled_from(ACTIVATIONS), st.sampled_from(HIDDEN_SIZES)
    hidden_activation_choices = st.sampled_from(hidden_activations)
    constant_lists = st.lists(st.sampled_from(input_shapes), max_size=max_constants)

    @st.composite
    def structures(draw):
        inputs = tuple(draw(input_lists))
        states = tuple(draw(state_lists))
        input_size = sum(prod(s) for s in inputs)
        outputs = []
        for number in range(draw(output_counts)):
            kind = "state0" if state0_first and states and number == 0 else draw(output_kinds[bool(states)])
            if kind == "state0":
                outputs.append(OutputSpec(shape=states[0].shape, kind="state0", activation="linear"))
            elif kind == "echo":
                outputs.append(OutputSpec(shape=(input_size * draw(echo_repeats),), kind="echo", activation="linear"))
            else:
                outputs.append(OutputSpec(shape=draw(output_shape_choices), kind="dense", activation=draw(activations)))
        return CellStructure(
            input_shapes=inputs,
            states=states,
            outputs=tuple(outputs),
            constant_shapes=tuple(draw(constant_lists)),
            hidden=draw(hidden_sizes),
            hidden_activation=draw(hidden_activation_choices),
            dtype=draw(dtype),
        )

    return structures()


@functools.cache
def _weight_values(count):
    return st.lists(st.sampled_from(WEIGHT_VALUES), min_size=count, max_size=count)


@st.composite
def cell_specs(draw, structures=cell_structures()):
    """A structure plus weight values drawn from a small grid of exact binary fractions."""
    structure = draw(structures)
    weights = tuple(tuple(draw(_weight_values(prod(shape)))) for shape in structure.weight_shapes())
    return CellSpec(structure=structure, weights=weights)


def options(**fixed):
    """Every option of the signature, each drawn independently unless fixed by keyword."""
    choices = dict(
        go_backwards=st.booleans(),
        unroll=st.booleans(),
        time_major=st.booleans(),
        zero_output_for_mask=st.booleans(),
        return_all_outputs=st.booleans().map(lambda b: not b),  # shrink towards True
        pass_input_length=st.booleans(),
        mask_format=st.sampled_from(MASK_FORMATS),
    )
    choices.update({name: st.just(value) for name, value in fixed.items()})
    return st.builds(Options, **choices)


@st.composite
def masks(draw, batch, steps, family):
    """A (B, T) boolean mask of the named family, or None for "none"."""
    if family == "none":
        return None
    if family == "all-true":
        return np.ones((batch, steps), bool)
    if family == "all-false":
        return np.zeros((batch, steps), bool)
    if family == "first-step-masked":
        mask = np.ones((batch, steps), bool)
        mask[:, 0] = False
        return mask
    if family in ("right-padded", "left-padded"):
        lengths = draw(_lengths(batch, steps))
        valid = np.arange(steps)[None, :] < np.array(lengths)[:, None]
        return valid if family == "right-padded" else valid[:, ::-1].copy()
    mask = draw(_bool_arrays(batch, steps))
    if family == "interior-holes":
        mask[:, 0] = mask[:, -1] = True
        if steps >= 3:
            mask[:, draw(_integers(1, steps - 2))] = False
        return mask
    if family == "one-fully-masked-row":
        mask[draw(_integers(0, batch - 1))] = False
        return mask
    return mask  # "per-sample": every entry independent


@functools.cache
def _lengths(batch, steps):
    return st.lists(st.integers(0, steps), min_size=batch, max_size=batch)


@functools.cache
def _bool_arrays(batch, steps):
    return hnp.arrays(bool, (batch, steps))


@functools.cache
def _integers(low, high):
    return st.integers(low, high)


@functools.cache  # one strategy per dtype, shape and kind, built once
def data_arrays(dtype, shape, nonzero=False):
    """Float arrays of a given dtype; `nonzero` keeps every entry away from 0.

    Hypothesis knows no bfloat16: its values are drawn as float32 values rounded to what
    bfloat16 holds, then stored as bfloat16 (the other dtypes draw as they always did,
    so a seed draws the same float32 and float64 examples as before)."""
    if dtype == "bfloat16":
        bfloat16 = numpy_dtype(dtype)
        return data_arrays("float32", shape, nonzero).map(lambda a: a.astype(bfloat16))
    width = {"float16": 16, "float32": 32}.get(dtype, 64)
    magnitude = st.floats(NONZERO_MIN, VALUE_BOUND, width=width, allow_subnormal=False)
    if nonzero:
        elements = st.one_of(magnitude, magnitude.map(lambda v: -v))
    else:
        elements = st.floats(-VALUE_BOUND, VALUE_BOUND, width=width, allow_subnormal=False)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


@st.composite
def examples(
    draw,
    specs=cell_specs(),
    option_strategy=options(),
    mask_families=st.sampled_from(MASK_FAMILIES),
    batch_sizes=BATCH_SIZES,
    time_steps=TIME_STEPS,
):
    """A complete case: cell, options, inputs, non-zero initial states, constants and mask."""
    spec = draw(specs)
    structure = spec.structure
    batch, steps = draw(batch_sizes), draw(time_steps)
    family = draw(mask_families)
    mask = draw(masks(batch, steps, family))
    dtype = structure.dtype
    return Example(
        spec=spec,
        options=draw(option_strategy),
        inputs=tuple(draw(data_arrays(dtype, (batch, steps) + shape)) for shape in structure.input_shapes),
        initial_states=tuple(
            draw(data_arrays(dtype, (batch,) + s.shape, nonzero=True)) for s in structure.states
        ),
        constants=tuple(draw(data_arrays(dtype, (batch,) + shape)) for shape in structure.constant_shapes),
        mask=mask,
        mask_family=family,
    )


def low_precision_examples(state0_first=False, **kwargs):
    """Examples in float16 or bfloat16 (CONTRACT.md section 3, "Low precision"); any
    cell whose hidden layer squashes, any options and mask (`state0_first`: see
    `cell_structures`)."""
    structures = cell_structures(dtype=st.sampled_from(LOW_PRECISION), hidden_activations=LOW_PRECISION_HIDDEN_ACTIVATIONS,
                                 state0_first=state0_first)
    return examples(specs=cell_specs(structures), **kwargs)
