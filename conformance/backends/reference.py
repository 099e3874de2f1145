"""The NumPy reference run as a backend: the sanity row of every matrix.

If this row ever fails, the harness (strategies, adapters, comparisons) is broken, not
the contract.
"""

import numpy as np

from conformance import reference
from conformance.backends.base import Backend, Result


class ReferenceBackend(Backend):
    name = "reference"
    description = "the NumPy reference loop (sanity row)"
    packages = ("numpy",)
    modes = ("eager",)
    ops = "numpy"

    def run(self, example, mode):
        step = self.step_function(example.structure, example.spec.weight_arrays())
        # NaN and inf are legitimate inputs at masked steps (R9): no warnings for them.
        with np.errstate(all="ignore"):
            return Result.from_framework(reference.rnn(step, **example.call_arguments()))
