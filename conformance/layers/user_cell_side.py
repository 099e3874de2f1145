"""A user's cell inside a layer worker: import it, probe it, build it, step it.

Imported only in a worker (conformance/layers/worker.py), where Keras runs under the
backend the row names. Importing the user's module runs the user's code, so it happens
here and never in the suite's process; what comes back is data (shapes, arrays, one-line
errors). The reference of a user cell is computed in a worker under KERAS_BACKEND=numpy,
where `keras.ops` is NumPy: `reference_step` is the user's own `call` there, driven by
the reference loop (conformance/layer_reference.py) with the example's weights (for L7's
float64 differences, under TensorFlow: Keras 3 computes float64 as float32 elsewhere).
"""

import functools
import importlib
import sys

import numpy as np

from cells.user_cell import Shape, UserCellError, UserCellStructure, parse_target
from conformance.runs import crash_text
from conformance.user_cell_reference import reference_backend


@functools.cache
def cell_class(target, search_path):
    """The class `target` names, imported with `search_path` first on sys.path."""
    import keras

    module_name, class_name = parse_target(target)
    if search_path and search_path not in sys.path:
        sys.path.insert(0, search_path)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - whatever the user's module raised
        raise UserCellError(f"--cell {target}: cannot import {module_name}: {crash_text(error)}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UserCellError(f"--cell {target}: {module_name} has no {class_name}")
    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        raise UserCellError(f"--cell {target}: {class_name} is not a keras.layers.Layer subclass (a Keras 3 cell is one)")
    _refuse_required_constants(target, cls)
    try:  # Bidirectional rebuilds its backward copy from the cell's config
        keras.saving.register_keras_serializable(package="rnn_conformance_user")(cls)
    except ValueError:
        pass  # registered already (by the user's own decorator)
    return cls


def _refuse_required_constants(target, cls):
    """Keras 3's `keras.layers.RNN` calls a cell as `cell(inputs, states)` and has no
    `constants` argument (its docstring still describes one), so a cell whose `call`
    requires constants cannot run on any Keras 3 row: one line, not a crash per example."""
    import inspect

    try:
        parameter = inspect.signature(cls.call).parameters.get("constants")
    except (TypeError, ValueError):
        return
    if parameter is not None and parameter.default is inspect.Parameter.empty:
        raise UserCellError(f"--cell {target}: {cls.__name__}.call requires constants, and Keras 3's keras.layers.RNN passes "
                            "a cell none (it has no constants argument): a cell that reads constants runs on tf_keras, "
                            "which --cell does not cover yet")


def make_cell(structure):
    """A new instance of the user's cell with the structure's keyword arguments."""
    cls = cell_class(structure.target, structure.search_path)
    try:
        cell = cls(**structure.kwargs)
    except Exception as error:  # noqa: BLE001
        raise UserCellError(f"--cell {structure.target}: {cls.__name__}(**{structure.args_json}) failed: {crash_text(error)}") from None
    if not hasattr(cell, "state_size"):
        raise UserCellError(f"--cell {structure.target}: {cls.__name__} has no state_size, so it is not an RNN cell")
    return cell


def probe(target, args_json, search_path, input_shape):
    """The cell's structure for `input_shape`: built inside `keras.layers.RNN` and run once
    on zeros, so the shapes are what the layer sees, whatever the cell declares."""
    import keras

    structure = UserCellStructure(target, args_json, search_path, input_shapes=(tuple(input_shape),))
    cell = make_cell(structure)
    try:
        returned = keras.layers.RNN(cell, return_state=True)(np.zeros((1, 2) + tuple(input_shape), "float32"))
    except Exception as error:  # noqa: BLE001
        raise UserCellError(f"--cell {target} cannot be built for input shape {tuple(input_shape)}: {crash_text(error)}") from None
    output, *states = [np.asarray(keras.ops.convert_to_numpy(r)) for r in returned]
    if not states:
        raise UserCellError(f"--cell {target}: the cell has no state (state_size is empty)")
    # What one step returns, as the layer's loop receives it (the layer may cast it back).
    step_output, step_states = cell(np.zeros((1,) + tuple(input_shape), "float32"),
                                    [np.zeros((1,) + s.shape[1:], "float32") for s in states])
    step_states = step_states if isinstance(step_states, (list, tuple)) else [step_states]
    dtypes = sorted({str(np.asarray(a).dtype) for a in [output, *states, step_output, *step_states]} - {"float32"})
    if dtypes:
        raise UserCellError(f"--cell {target} returns {', '.join(dtypes)} for float32 inputs: its result depends on "
                            "the backend's own float types (e.g. a float64 constant), not on its inputs")
    _check_deterministic(target, cell, input_shape)
    return UserCellStructure(
        target, args_json, search_path,
        input_shapes=(tuple(input_shape),),
        states=tuple(Shape(s.shape[1:]) for s in states),
        outputs=(Shape(output.shape[1:]),),
        weights_shapes=tuple(tuple(w.shape) for w in cell.weights),
    )


def _check_deterministic(target, cell, input_shape):
    """Two runs of one built cell on the same data agree, or the cell is reported, not the
    backends: a cell that draws random numbers or keeps Python-side state between calls
    would make every backend look wrong."""
    import keras

    x = np.linspace(-1.0, 1.0, 3 * 4 * int(np.prod(input_shape)), dtype="float32").reshape((3, 4) + tuple(input_shape))
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    runs = [[np.asarray(keras.ops.convert_to_numpy(r)) for r in layer(x)] for _ in range(2)]
    if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*runs)):
        raise UserCellError(f"--cell {target} is not deterministic: two runs of one layer on the same input differ "
                            "(random numbers or state kept between calls), so no backend can be held to one result")


@functools.cache
def _built_cell(structure, dtype):
    """One built instance per structure and dtype (the reference reuses it, weights set per
    example): float32 for the forward reference, as the layer computes; float64 where L7's
    central differences perturb the weights and inputs by less than float32 resolves."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)  # the cell's own __init__ need not take `dtype`
    try:
        cell = make_cell(structure)
        cell.build((None,) + structure.input_shapes[0])
    finally:
        keras.config.set_dtype_policy(previous)
    return cell


def reference_step(spec, weights):
    """The user's step with `weights`: (x, states) -> (output, new states) as NumPy arrays;
    float32 under the NumPy backend, float64 (L7's differences) under TensorFlow."""
    import keras

    dtype, expected = reference_backend(weights)
    if keras.backend.backend() != expected:
        raise RuntimeError(f"a user cell's {dtype} reference runs under KERAS_BACKEND={expected}, not {keras.backend.backend()}")
    cell = _built_cell(spec.structure, dtype)
    kwargs = {"training": False} if getattr(cell, "_call_has_training_arg", False) else {}

    def step(x, states):
        set_weights(cell, weights)  # (stacked copies of one structure share the instance)
        output, new_states = cell(x, list(states), **kwargs)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        return np.asarray(output), [np.asarray(s) for s in new_states]

    return step


def set_weights(cell, weights):
    """Assign `weights` unless they are the ones assigned last (a TensorFlow assign costs
    as much as a third of a step, and L7's differences step the cell thousands of times)."""
    if getattr(cell, "_rnn_conformance_weights", None) is weights:
        return
    for variable, value in zip(cell.weights, weights):
        variable.assign(value)
    cell._rnn_conformance_weights = weights
