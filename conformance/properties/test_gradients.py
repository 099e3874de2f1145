"""Gradients through the loop (CONTRACT.md section 5): G1 agreement, G3 inert masked
steps, G4 invariance; every gradient a backend returns is also checked for G2.

Each backend differentiates in its own framework (`Backend.run_with_gradients`), in the
modes it already has; compiled modes compute results and gradients in one compiled
function per configuration, so the siblings of an example reuse its trace. The
reference's gradients are finite differences of the NumPy reference
(conformance/contract/gradient_reference.py), never autodiff. A backend without autodiff has these
properties "not applicable" (section 4).
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cells.gradient_strategies import FILLS, gradient_examples, masked_step_examples, with_masked_fill
from conformance.judge.checks import contract_property
from conformance.judge.gradient_assertions import (
    assert_gradients_agree_with_reference,
    assert_gradients_finite,
    assert_masked_inputs_get_no_gradient,
    assert_same_gradients,
)
from conformance.contract.gradients import example_loss_weights
from conformance.base.profiles import gradient_settings
from conformance.judge.runs import expected, run_backend_with_gradients
from conformance.judge.targets import Target

pytestmark = pytest.mark.needs_gradients

# G4's relations: each one variant of the drawn example that must give the same gradients.
VARIANTS = ("unroll", "input_length", "all-true mask", "time_major", "eager mode")


def gradients_of(target, example, rule, finite_first=False):
    """The target's gradients of L on the example (batch-major), checked for G2 first:
    an input where the mask is false never gets a gradient. With `finite_first`, NaN or
    inf anywhere is reported under `rule` before that (G3: junk at masked steps that
    poisons the backward pass is G3's finding, wherever the NaN lands)."""
    target.require_gradients()
    weights = example_loss_weights(example, expected(example))
    _, gradients = run_backend_with_gradients(target, example, weights, rule)
    gradients = replace(gradients, taken_on=example, taken_by=target)  # a G3/G4 divergence names both runs
    if finite_first:
        assert_gradients_finite(gradients, example, target, rule)
    assert_masked_inputs_get_no_gradient(gradients, example, target)
    return gradients, weights


@gradient_settings()
@given(example=gradient_examples("float64"))
@contract_property
def test_gradients_agree_with_reference(target, example):
    """G1 (and G2): dL/d inputs, initial states, constants and every cell weight equal the
    reference's, in float64, any cell, options and mask."""
    gradients, weights = gradients_of(target, example, "G1")
    assert_gradients_agree_with_reference(gradients, example, weights, target)


@gradient_settings()
@given(example=masked_step_examples(), fill=st.sampled_from(FILLS))
@contract_property
def test_masked_steps_are_inert_for_gradients(target, example, fill):
    """G3 (and G2): NaN, inf or values outside the cell's domain at masked input steps
    make no gradient NaN or inf and change no gradient value."""
    clean, _ = gradients_of(target, example, "G3")
    filled = with_masked_fill(example, fill)
    gradients, _ = gradients_of(target, filled, "G3", finite_first=True)
    assert_same_gradients(gradients, clean, filled, target, "G3", f"{fill} at masked input steps changed the gradients")


@gradient_settings()
@given(example=gradient_examples("float32"), variant=st.sampled_from(VARIANTS))
@contract_property
def test_gradients_are_invariant(target, example, variant):
    """G4 (and G2): the gradients agree between unroll True and False, input_length None
    and T, no mask and an all-true mask, batch- and time-major (as the transpose), and
    between a compiled mode and eager."""
    variant_example, variant_target, relation = _variant(target, example, variant)
    gradients, _ = gradients_of(target, example, "G4")
    other, _ = gradients_of(variant_target, variant_example, "G4")
    assert_same_gradients(other, gradients, variant_example, target, "G4", relation)


def _variant(target, example, variant):
    """(example, target, relation) of one G4 variant; a variant the target cannot express
    (an option its API lacks, eager against itself) falls back to flipping `unroll`.

    A compiled mode of a backend that also runs eagerly is always compared with eager, on
    the same example: its other variants would pay a second trace per example, and they
    follow from this one and the eager target's own G4 (compiled = eager on every
    configuration, eager invariant under every option)."""
    o = example.options
    if target.compiles and "eager" in target.backend.modes:
        variant = "eager mode"
    if variant == "input_length":
        return example.changed(options={"pass_input_length": not o.pass_input_length}), target, "input_length=T and None give other gradients"
    if variant == "all-true mask" and example.mask is None:
        all_true = example.changed(mask=np.ones((example.batch, example.steps), bool), mask_family="all-true")
        return all_true, target, "an all-true mask changed the gradients"
    if variant == "time_major" and "time_major" not in target.backend.unsupported_options:
        flipped = example.changed(options={"time_major": not o.time_major})
        return flipped, target, "time_major gives other gradients than batch-major (inputs compared batch-major)"
    if variant == "eager mode" and target.mode != "eager" and "eager" in target.backend.modes:
        return example, Target(target.backend, "eager"), f"{target.mode} gives other gradients than eager"
    return example.changed(options={"unroll": not o.unroll}), target, "unroll=True and unroll=False give other gradients"
