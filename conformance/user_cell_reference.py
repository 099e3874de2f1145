"""The reference of a user's cell (--cell), computed where the cell can run as NumPy.

The suite's own cells are NumPy code in this process; a user's cell is Keras code, and
`keras.ops` is NumPy only under KERAS_BACKEND=numpy, which this process may not have
(Keras picks its backend once, at import). So the reference loop of a user-cell example
runs in a worker of its own under the NumPy backend, driven by the same
`layer_reference.layer_outputs`; probing the cell's shapes happens there too, so the
user's module is never imported into the suite's process.
"""

import os

from cells.user_cell import UserCellError

# True in the worker that computes it (started by `worker()` below with this variable set).
IN_WORKER = os.environ.get("RNN_CONFORMANCE_REFERENCE_WORKER") == "1"
_worker = None


def worker():
    global _worker
    if _worker is None:
        from conformance.layers.client import Worker

        _worker = Worker("keras3", {"KERAS_BACKEND": "numpy", "RNN_CONFORMANCE_REFERENCE_WORKER": "1"})
    return _worker


def probe(target, args_json, search_path, input_shape):
    """The UserCellStructure of the cell for `input_shape`, or a UserCellError (one line)."""
    kind, value = worker().request("probe_cell", target, args_json, search_path, tuple(input_shape))[0]
    if kind == "usage":
        raise UserCellError(value)
    return value


def layer_outputs(example, rnn=None, cell_weights=None):
    """conformance.layer_reference.layer_outputs of a user-cell example, from the worker."""
    if rnn is not None and rnn.__module__ != "conformance.reference":
        raise ValueError("a user cell's reference runs the reference loop only")
    return worker().request("reference", example, cell_weights)[0]
