"""Precision mutants: loops that are right in float32 and float64 and wrong in float16 or
bfloat16 (CONTRACT.md section 3, "Low precision").

Each changes one seam of `CorrectLoop` in a way only rounding, or only a low-precision
code path, shows, so the float32 and float64 properties pass it and the low-precision
properties (conformance/properties/test_precision.py) must find it, by the rule it breaks.
"""

import numpy as np

from cells.dtypes import LOW_PRECISION
from conformance.research.mutants.catalog import Mutant
from conformance.research.mutants.loop import CorrectLoop


def _low(array):
    return str(np.asarray(array).dtype) in LOW_PRECISION


class MaskedCarryByArithmetic(CorrectLoop):
    """old + m * (new - old): where m is 1 it rounds (new - old) first, so the carry is
    new only to within an ulp; in float64 that is inside every tolerance, in float16 the
    state a step returned is not the state carried. Non-finite values are selected, so
    NaN at masked steps cannot leak (R9 holds): only exactness can tell."""

    def masked_states(self, keep, new_states, states, output_leaves, call):
        carried = []
        for new, old in zip(new_states, states):
            new, old = np.asarray(new), np.asarray(old)
            m = self.per_sample(keep, old, call).astype(old.dtype)
            with np.errstate(all="ignore"):
                blended = old + m * (new - old)
            carried.append(np.where(np.isfinite(new) & np.isfinite(blended), blended, self.select(keep, new, old, call)))
        return carried


class HalfPathMultipliesByMask(CorrectLoop):
    """A half-precision path (as fused float16 kernels have) that masks by multiplying
    with the mask cast to the compute dtype: m * new + (1 - m) * old, so NaN and inf at
    masked steps leak (0 * NaN is NaN). The float32 and float64 path selects."""

    def select(self, keep, new, old, call):
        if not _low(old):
            return super().select(keep, new, old, call)
        m = self.per_sample(keep, old, call).astype(np.asarray(old).dtype)
        with np.errstate(all="ignore"):
            return m * new + (1 - m) * old


class HalfPathCarriesInFloat32(CorrectLoop):
    """A half-precision path that carries its states in float32 (the accumulator's dtype)
    and returns them so: every value is right, the dtype is not the step's (R13)."""

    def returned_states(self, states, initial_states):
        return [np.asarray(s, np.float32) if _low(s) else np.asarray(s) for s in states]


PRECISION_MUTANTS = {
    m.name: m
    for m in (
        Mutant("masked-carry-by-arithmetic", "pattern, no upstream report found (R3 in float16)", "R3",
               "states are carried as old + m * (new - old), non-finite values selected: exact in float64, "
               "not in float16", MaskedCarryByArithmetic),
        Mutant("half-path-multiplies-by-mask", "tensorflow/tensorflow#6209 (blending) on a float16 path", "R9",
               "in float16 and bfloat16 masking is m * new + (1 - m) * old with m cast to the compute dtype",
               HalfPathMultipliesByMask),
        Mutant("half-path-carries-in-float32", "keras-team/keras#20605 (mixed precision, dtype of the carried state)", "R13",
               "in float16 and bfloat16 the final states come back as the float32 accumulator", HalfPathCarriesInFloat32),
    )
}
