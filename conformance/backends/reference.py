"""The NumPy reference run as a backend: the sanity row of every matrix.

If this row ever fails, the harness (strategies, adapters, comparisons) is broken, not
the contract.
"""

from conformance.contract import reference
from conformance.backends.numpy_function import NumpyFunctionBackend


def reference_backend():
    return NumpyFunctionBackend("reference", reference.rnn, "the NumPy reference loop (sanity row)")
