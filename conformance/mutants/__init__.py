"""Faulty loops that the suite must reject: the mutation analysis of the suite itself.

`loop.CorrectLoop` is a correct loop split at the seams where real loops went wrong;
`catalog.MUTANTS` are its historical bugs, one small override each. `rnn-conformance
mutants` (conformance.mutation) runs the properties on every mutant and scores the suite.
"""

from conformance.mutants.catalog import EQUIVALENT, MUTANTS, Mutant
from conformance.mutants.loop import CorrectLoop

__all__ = ["EQUIVALENT", "MUTANTS", "Mutant", "CorrectLoop"]
