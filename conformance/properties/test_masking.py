"""Masks: no mask equals an all-true mask, every mask format agrees, masked steps are inert.

R8 and R9 as metamorphic relations: they compare the backend with itself, so they hold
even where the reference could be wrong.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cells.example import MASK_FORMATS
from cells.strategies import MASK_FAMILIES, examples
from conformance.judge.checks import contract_property
from conformance.judge.runs import assert_equivalent_runs

WITH_SOME_MASKED_STEP = examples(
    mask_families=st.sampled_from([f for f in MASK_FAMILIES if f not in ("none", "all-true")])
).filter(lambda e: not e.mask.all())


@given(example=examples(mask_families=st.just("none")))
@contract_property
def test_all_true_mask_equals_no_mask(target, example):
    """R8: mask=None and an all-true mask give identical results."""
    all_true = example.changed(mask=np.ones((example.batch, example.steps), bool), mask_family="all-true")
    assert_equivalent_runs(target, example, all_true, "R8", "an all-true mask changed the results")


@given(example=examples(mask_families=st.sampled_from(MASK_FAMILIES[1:])), other_format=st.sampled_from(MASK_FORMATS))
@contract_property
def test_mask_formats_agree(target, example, other_format):
    """R8: bool, 0/1 integer, 0/1 float and (B, T, 1) masks mean the same mask."""
    reformatted = example.changed(options={"mask_format": other_format})
    relation = f"mask format {other_format!r} gives other results than {example.options.mask_format!r}"
    assert_equivalent_runs(target, example, reformatted, "R8", relation)


@given(example=WITH_SOME_MASKED_STEP, poison=st.sampled_from([np.nan, np.inf, -np.inf, 1e30]))
@contract_property
def test_masked_inputs_are_inert(target, example, poison):
    """R9: whatever the inputs hold at masked steps (NaN, inf, huge) changes no result."""
    masked = ~example.mask
    poisoned_inputs = tuple(np.where(_per_step(masked, x), np.asarray(poison, x.dtype), x) for x in example.inputs)
    poisoned = example.changed(inputs=poisoned_inputs)
    assert_equivalent_runs(target, example, poisoned, "R9", f"inputs set to {poison} at masked steps changed the results")


def _per_step(mask, like):
    return mask.reshape(mask.shape + (1,) * (like.ndim - 2))
