"""The worker side of a user cell's reference (conformance/contract/user_cell_reference.py).

A user's cell runs as NumPy only under KERAS_BACKEND=numpy (or steps eagerly in tf_keras),
so its reference loop and its probe run in a layer worker of their own. Importing this
module hands the oracle its way to step such a cell, so that the oracle itself never starts
a process. The workers start on first use, one per backend name, and live for the run.
"""

from cells.user_cell import UserCellError
from conformance.backends.layer_worker.client import Worker
from conformance.contract import user_cell_reference

_workers = {}


def worker(name="numpy"):
    """The reference worker `name`: a KERAS_BACKEND for a Keras 3 cell, or "tf_keras"."""
    if name not in _workers:
        environment = {"RNN_CONFORMANCE_REFERENCE_WORKER": "1"}
        if name == "tf_keras":
            _workers[name] = Worker("tf_keras", environment)
        else:
            _workers[name] = Worker("keras3", {"KERAS_BACKEND": name, **environment})
    return _workers[name]


def probe(target, args_json, search_path, input_shape, framework="keras3", constant_shapes=()):
    """The UserCellStructure of the cell for `input_shape`, or a UserCellError (one line)."""
    request = ("probe_cell", target, args_json, search_path, tuple(input_shape), framework, tuple(constant_shapes))
    kind, value = worker("tf_keras" if framework == "tf_keras" else "numpy").request(*request)[0]
    if kind == "usage":
        raise UserCellError(value)
    return value


def layer_outputs(example, cell_weights=None):
    """The layer's [output, *states] of a user-cell example, from the worker that can step it."""
    _, name = user_cell_reference.reference_backend(
        example.spec.structure, [w for copy in cell_weights or () for cell in copy for w in cell])
    return worker(name).request("reference", example, cell_weights)[0]


user_cell_reference.hand_over(layer_outputs)
