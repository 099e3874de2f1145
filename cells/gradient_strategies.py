"""Hypothesis strategies for the gradient properties (issue 16, contract section 5).

`gradient_examples(dtype)` draws what G1 (float64) and G4 (float32) check: every family of
cells.strategies plus cells whose step takes log, sqrt or the reciprocal of its first input
leaf (cells.spec). Where a transform applies, every value of that leaf, masked or not, lies
inside its domain (magnitudes in [NONZERO_MIN, VALUE_BOUND], positive for log and sqrt), so
the derivative of the section-1 function exists everywhere the reference differentiates.

`masked_step_examples()` draws the clean examples of G3 (float32, a mask with at least one
false entry); `with_masked_fill(example, fill)` then puts NaN, inf or 0.0 (the Masking
layer's padding value, outside every transform's domain) at every masked input position.
G3 says the gradients of the filled example equal those of the clean one and are finite.

As in cells.strategies every choice lists its simplest first, so Hypothesis shrinks to
B = 1, T = 1, no mask, transform "none" (and for G3 to a first step masked, fill "nan").
"""

import functools
from dataclasses import replace

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cells.example import Example
from cells.spec import INPUT_TRANSFORMS
from cells.strategies import (
    BATCH_SIZES,
    MASK_FAMILIES,
    NONZERO_MIN,
    TIME_STEPS,
    VALUE_BOUND,
    cell_specs,
    cell_structures,
    data_arrays,
    masks,
    options,
)

FILLS = ("nan", "inf", "zero")  # simplest first
FILL_VALUES = {"nan": np.nan, "inf": np.inf, "zero": 0.0}
fills = st.sampled_from(FILLS)

# Families that can hold a false entry, the one with the smallest example first
# (B = 1, T = 1, mask [[False]]); "interior-holes" needs T >= 3 to hold one.
MASKED_FAMILIES = tuple(f for f in MASK_FAMILIES if f not in ("none", "all-true"))
MASKED_FAMILIES = ("first-step-masked",) + tuple(f for f in MASKED_FAMILIES if f != "first-step-masked")


@functools.cache
def transformed_structures(dtype):
    """Every structure of cells.strategies in `dtype`, each with a drawn input transform."""
    return st.tuples(cell_structures(dtype=st.just(dtype)), st.sampled_from(INPUT_TRANSFORMS)).map(
        lambda pair: replace(pair[0], input_transform=pair[1])
    )


@functools.cache
def domain_arrays(transform, dtype, shape):
    """Arrays whose every entry lies inside `transform`'s domain, away from its edge:
    [NONZERO_MIN, VALUE_BOUND] for log and sqrt, +-[NONZERO_MIN, VALUE_BOUND] for the
    reciprocal, and cells.strategies' ordinary data for "none"."""
    if transform == "none":
        return data_arrays(dtype, shape)
    if transform == "reciprocal":
        return data_arrays(dtype, shape, nonzero=True)
    width = 32 if dtype == "float32" else 64
    magnitude = st.floats(NONZERO_MIN, VALUE_BOUND, width=width, allow_subnormal=False)
    return hnp.arrays(np.dtype(dtype), shape, elements=magnitude)


def _draw_inputs(draw, structure, batch, steps):
    """One (B, T, ...) array per input leaf; the first inside the transform's domain."""
    dtype = structure.dtype
    shapes = [(batch, steps) + shape for shape in structure.input_shapes]
    first = draw(domain_arrays(structure.input_transform, dtype, shapes[0]))
    return (first,) + tuple(draw(data_arrays(dtype, shape)) for shape in shapes[1:])


def _example(draw, spec, family, mask, batch, steps, option_strategy):
    structure = spec.structure
    dtype = structure.dtype
    return Example(
        spec=spec,
        options=draw(option_strategy),
        inputs=_draw_inputs(draw, structure, batch, steps),
        initial_states=tuple(draw(data_arrays(dtype, (batch,) + s.shape, nonzero=True)) for s in structure.states),
        constants=tuple(draw(data_arrays(dtype, (batch,) + shape)) for shape in structure.constant_shapes),
        mask=mask,
        mask_family=family,
    )


@st.composite
def gradient_examples(draw, dtype="float64", option_strategy=options(), mask_families=st.sampled_from(MASK_FAMILIES)):
    """G1 (float64) and G4 (float32): any cell, options and mask; transformed inputs in their domain."""
    spec = draw(cell_specs(transformed_structures(dtype)))
    batch, steps = draw(BATCH_SIZES), draw(TIME_STEPS)
    family = draw(mask_families)
    return _example(draw, spec, family, draw(masks(batch, steps, family)), batch, steps, option_strategy)


@functools.cache
def _masked_families(steps):
    return st.sampled_from([f for f in MASKED_FAMILIES if steps >= 3 or f != "interior-holes"])


@st.composite
def masked_step_examples(draw, dtype="float32", option_strategy=options()):
    """G3's CLEAN example: a cell with or without a transform, a mask with at least one
    false entry, every input value inside the cell's domain (fill it with `with_masked_fill`)."""
    spec = draw(cell_specs(transformed_structures(dtype)))
    batch, steps = draw(BATCH_SIZES), draw(TIME_STEPS)
    family = draw(_masked_families(steps))
    mask = _with_a_false_entry(draw(masks(batch, steps, family)), family)
    return _example(draw, spec, family, mask, batch, steps, option_strategy)


def _with_a_false_entry(mask, family):
    """The mask, with one entry of sample 0 made false where the family drew none and
    can hold one without changing family: its last step (right-padded), its first
    (left-padded, per-sample). The other families of MASKED_FAMILIES always hold one."""
    if mask.all():
        mask = mask.copy()
        mask[0, -1 if family == "right-padded" else 0] = False
    return mask


def masked_positions(example):
    """(B, T) bool: the positions whose input values the loop must ignore (none if no mask)."""
    if example.mask is None:
        return np.zeros((example.batch, example.steps), bool)
    return ~np.asarray(example.mask, bool)


def with_masked_fill(example, fill):
    """`example` with every input value at a masked (b, t) position, in every leaf, set
    to the fill named `fill` (one of FILLS); every other value unchanged (G3)."""
    if fill not in FILL_VALUES:
        raise ValueError(f"unknown fill {fill!r}; valid: {', '.join(FILLS)}")
    where = masked_positions(example)
    inputs = []
    for leaf in example.inputs:
        filled = np.array(leaf, copy=True)
        filled[where] = FILL_VALUES[fill]
        inputs.append(filled)
    return example.changed(inputs=tuple(inputs))
