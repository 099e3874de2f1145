"""The reference of a user's cell (--cell): which backend steps it, and who may step it.

The suite's own cells are NumPy code in this process; a user's cell is Keras code, and
`keras.ops` is NumPy only under KERAS_BACKEND=numpy, which this process may not have
(Keras picks its backend once, at import). So the reference loop of a user-cell example
runs in a worker of its own under the NumPy backend (and, for L7's float64 central
differences, under TensorFlow: FLOAT64_BACKEND), driven by the same
`layer_reference.layer_outputs` (a tf_keras cell, --cell-framework tf-keras, steps
eagerly in a tf_keras worker); probing the cell's shapes happens there too, so the
user's module is never imported into the suite's process.

The oracle never starts a process itself: the worker's side is handed to it
(`hand_over`, by conformance/backends/layer_worker/remote_reference.py when imported).
"""

import functools
import importlib.util
import os

import numpy as np

# True in the worker that computes it (remote_reference.worker starts it with this variable set).
IN_WORKER = os.environ.get("RNN_CONFORMANCE_REFERENCE_WORKER") == "1"
# L7's central differences need float64, and Keras 3 computes float64 as float32 on every
# backend but TensorFlow (keras/src/backend/common/dtypes.py, BIT64_TO_BIT32_DTYPE, "to be
# aligned with JAX's default"): there the reference steps the cell under TensorFlow.
FLOAT64_BACKEND = "tensorflow"
_elsewhere = []  # the handed-over function that computes a user cell's layer outputs out of process


def hand_over(outputs):
    """Give the oracle the way to step a user's cell: `outputs(example, cell_weights)`."""
    _elsewhere[:] = [outputs]


def reference_backend(structure, arrays):
    """(dtype, worker) the reference steps a user cell in, given the weights (or inputs)
    it is asked about: float64 ones are L7's differences. A tf_keras cell steps eagerly in
    its own worker (TensorFlow computes float64 as float64), a Keras 3 cell under NumPy,
    or, in float64, under FLOAT64_BACKEND."""
    dtype = "float64" if any(np.asarray(a).dtype == np.float64 for a in arrays) else "float32"
    if structure.framework == "tf_keras":
        return dtype, "tf_keras"
    return dtype, FLOAT64_BACKEND if dtype == "float64" else "numpy"


@functools.cache  # asked for every gradient example; the answer cannot change in a run
def float64_reference_missing():
    """Why the float64 reference of a user cell cannot run here, or None."""
    if importlib.util.find_spec(FLOAT64_BACKEND) is None:
        return (f"not applicable: the float64 reference of your cell's gradients runs it under {FLOAT64_BACKEND}, "
                "not installed (Keras 3 computes float64 as float32 on its other backends)")
    return None


def layer_outputs(example, rnn=None, cell_weights=None):
    """conformance.contract.layer_reference.layer_outputs of a user-cell example, stepped
    where the cell can run (the handed-over worker side)."""
    if rnn is not None and rnn.__module__ != "conformance.contract.reference":
        raise ValueError("a user cell's reference runs the reference loop only")
    if not _elsewhere:
        raise RuntimeError("a user cell's reference steps it in a worker: import "
                           "conformance.backends.layer_worker.remote_reference first")
    return _elsewhere[0](example, cell_weights)
