"""Any NumPy implementation of the `rnn` signature as a backend.

The reference row uses it, and so do faulty loops (mutants) that the suite's own tests
feed to the properties to prove each one can fail.
"""

import numpy as np

from conformance.backends.base import Backend, Result


class NumpyFunctionBackend(Backend):
    packages = ("numpy",)
    modes = ("eager",)
    cheap_modes = ("eager",)  # the reference 1,523 examples/s, keras-numpy 97 (a NumPy loop)
    ops = "numpy"

    def __init__(self, name, rnn, description="", run_by_default=True):
        self.name, self.rnn, self.description, self.run_by_default = name, rnn, description, run_by_default

    def run(self, example, mode):
        step = self.step_function(example.structure, example.spec.weight_arrays())
        # NaN and inf are legitimate inputs at masked steps (R9): no warnings for them.
        with np.errstate(all="ignore"):
            return Result.from_framework(self.rnn(step, **example.call_arguments()))
