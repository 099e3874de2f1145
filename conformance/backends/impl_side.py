"""The worker's side of an --impl row: the user's loop runs here, never beside the judge.

An --impl module is code under test, and code can change what it can reach: one that
replaces `numpy.isclose` (or anything of the suite's) at import would pass every property
if it shared a process with the reference and the comparison. So its `rnn` runs in a
layer worker of its own (flavor "impl", conformance/backends/layer_worker/worker.py),
which imports the module from the directory the run started in and answers with NumPy
results; the judging process never imports it. A loop that writes into its arguments
(R13) writes into the worker's copies: the worker sends the arrays back when they
changed, and the parent writes them into the example, so the property still sees it.
"""

import os
import sys

import numpy as np

from conformance.backends.impl import OPS, SEARCH_PATH, TARGET, ImplBackend, argument_arrays

class ImplRunner:
    """`run(example, mode)` -> (Result, the argument arrays if the call changed them, else None)."""

    traced = reused = 0

    def __init__(self):
        # The judging process's import path, its working directory first: the module is
        # found here exactly as it would have been there.
        sys.path[:0] = [p for p in os.environ.get(SEARCH_PATH, "").split(os.pathsep) if p and p not in sys.path]
        self.backend = ImplBackend(os.environ[TARGET], os.environ[OPS], isolated=False)
        self.backend.load()  # ImplError (one line) when the module cannot be used

    def describe(self):
        return {"version": self.backend.version()}

    def forget_compiled(self):
        pass  # an --impl row is eager only

    def run(self, example, mode):
        return self._watching(example, lambda: self.backend.run(example, mode))

    def gradients(self, example, mode, loss_weights):
        return self._watching(example, lambda: self.backend.run_with_gradients(example, mode, loss_weights))

    @staticmethod
    def _watching(example, call):
        before = [np.array(a, copy=True) for a in argument_arrays(example)]
        answer = call()
        after = argument_arrays(example)
        changed = any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(after, before))
        return answer, ([np.asarray(a) for a in after] if changed else None)
