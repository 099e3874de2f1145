"""Faulty loops that the suite must reject: the mutation analysis of the suite itself.

`loop.CorrectLoop` is a correct loop split at the seams where real loops went wrong;
`catalog.MUTANTS` are its historical bugs, one small override each, and
`precision_catalog.PRECISION_MUTANTS` bugs only float16 and bfloat16 show. The gradient mutants
(`gradient_catalog`, torch) break only the backward pass of `gradient_loop.CorrectTorchLoop`.
The layer mutants (`layer_catalog`) break what a layer hands on to the next (L8), above a
correct loop; the built-in mutants (`builtin_catalog`, issue 41) break a built-in layer's own
path. `rnn-conformance mutants` (conformance.research.mutation) runs the properties on
every mutant and scores the suite.
"""

import importlib.util

from conformance.research.mutants.builtin_catalog import BUILTIN_MUTANTS
from conformance.research.mutants.catalog import EQUIVALENT, MUTANTS as HISTORICAL_MUTANTS, Mutant
from conformance.research.mutants.layer_catalog import LAYER_MUTANTS
from conformance.research.mutants.loop import CorrectLoop
from conformance.research.mutants.precision_catalog import PRECISION_MUTANTS

# The forward mutants: the historical catalog and the low-precision ones (section 3).
MUTANTS = {**HISTORICAL_MUTANTS, **PRECISION_MUTANTS}

__all__ = ["BUILTIN_MUTANTS", "EQUIVALENT", "LAYER_MUTANTS", "MUTANTS", "Mutant", "CorrectLoop", "gradient_mutants"]


def gradient_mutants():
    """The gradient mutants by name; {} where torch (which runs them) is not installed."""
    if importlib.util.find_spec("torch") is None:
        return {}
    from conformance.research.mutants.gradient_catalog import GRADIENT_MUTANTS

    return GRADIENT_MUTANTS
