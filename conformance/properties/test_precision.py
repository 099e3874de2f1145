"""Low precision: float16 and bfloat16 examples (CONTRACT.md section 3, "Low precision").

Agreement with the reference within the low-precision tolerance, and exactness where the
contract is exact whatever the dtype (R3, R4, R6, R9, R13). Metamorphic relations of the
other modules stay in float32 and float64: in low precision two equivalent runs may round
differently, and the reference says how far is allowed.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cells.dtypes import largest
from cells.strategies import MASK_FAMILIES, low_precision_examples
from conformance.judge import exactness
from conformance.judge.assertions import assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.judge.runs import expected, run_backend

# A cell with states shows its first state as its first output, so R3's exactness is seen
# at every processed step, not only where a sample processes none.
MASKED = low_precision_examples(
    state0_first=True,
    mask_families=st.sampled_from([f for f in MASK_FAMILIES if f not in ("none", "all-true")])
)
POISONS = ("nan", "inf", "-inf", "largest")


@pytest.mark.needs_low_precision
@given(example=low_precision_examples())
@contract_property
def test_low_precision_agrees_with_reference(target, example):
    """Section 3: within the tolerance of the dtype and the steps carried; R13 dtypes."""
    actual = run_backend(target, example, rule="R2")
    assert_agrees_with_reference(actual, expected(example), example, target)


@pytest.mark.needs_low_precision
@given(example=MASKED, poison=st.sampled_from(POISONS))
@contract_property
def test_low_precision_is_exact_where_the_contract_is_exact(target, example, poison):
    """R3, R4, R6, R13 exactly, on the backend's own results; R9: what the inputs hold at
    masked steps (NaN, inf, the dtype's largest value) changes no bit of any result."""
    result = run_backend(target, example, rule="R13")
    exactness.assert_dtypes(result, example, target)
    exactness.assert_masked_outputs_exact(result, example, target)
    exactness.assert_carried_states_exact(result, example, target)
    if np.asarray(example.mask).all():
        return
    value = largest(example.dtype) if poison == "largest" else float(poison)
    masked = ~np.asarray(example.mask, bool)
    poisoned = example.changed(inputs=tuple(
        np.where(masked.reshape(masked.shape + (1,) * (x.ndim - 2)), np.asarray(value, x.dtype), x) for x in example.inputs))
    exactness.assert_identical(run_backend(target, poisoned, rule="R9"), result, poisoned, target, "R9",
                               f"inputs set to {poison} at masked steps changed a result", runs=(poisoned, example))
