"""A user's cell inside a layer worker: import it, probe it, build it, step it.

Imported only in a worker (conformance/backends/layer_worker/worker.py), where Keras runs under the
backend the row names. Importing the user's module runs the user's code, so it happens
here and never in the suite's process; what comes back is data (shapes, arrays, one-line
errors). The reference of a user cell is computed in a worker under KERAS_BACKEND=numpy,
where `keras.ops` is NumPy: `reference_step` is the user's own `call` there, driven by
the reference loop (conformance/contract/layer_reference.py) with the example's weights (for L7's
float64 differences, under TensorFlow: Keras 3 computes float64 as float32 elsewhere).
"""

import functools
import importlib
import sys

import numpy as np

from cells.user_cell import Shape, UserCellError, UserCellStructure, check_cell_module, parse_target
from conformance.backends.crashes import crash_text
from conformance.contract.user_cell_reference import reference_backend


def keras_of(framework):
    """The Keras module a cell of `framework` ("keras3", "tf_keras") is written for."""
    if framework == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


@functools.cache
def cell_class(target, search_path, framework="keras3"):
    """The class `target` names, imported with `search_path` first on sys.path (never a
    module named like one of the suite's packages: that import would find the suite's)."""
    keras = keras_of(framework)
    check_cell_module(target)
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
        expected = "a tf_keras.layers.Layer subclass (--cell-framework tf-keras)" if framework == "tf_keras" else \
            "a keras.layers.Layer subclass (a Keras 3 cell is one; a tf_keras cell needs --cell-framework tf-keras)"
        raise UserCellError(f"--cell {target}: {class_name} is not {expected}")
    if framework == "keras3":
        _refuse_required_constants(target, cls)
    register = keras.saving.register_keras_serializable if framework == "keras3" else keras.utils.register_keras_serializable
    try:  # Bidirectional rebuilds its backward copy from the cell's config
        register(package="rnn_conformance_user")(cls)
    except ValueError:
        pass  # registered already (by the user's own decorator)
    return cls


def reads_constants(cls):
    """Whether the cell's `call` takes `constants` (tf_keras' RNN then passes them)."""
    return _call_parameter(cls, "constants") is not None


def _call_parameter(cls, name):
    import inspect

    try:
        return inspect.signature(cls.call).parameters.get(name)
    except (TypeError, ValueError):
        return None


def _refuse_required_constants(target, cls):
    """Keras 3's `keras.layers.RNN` calls a cell as `cell(inputs, states)` and has no
    `constants` argument (its docstring still describes one), so a cell whose `call`
    requires constants cannot run on any Keras 3 row: one line, not a crash per example."""
    import inspect

    parameter = _call_parameter(cls, "constants")
    if parameter is not None and parameter.default is inspect.Parameter.empty:
        raise UserCellError(f"--cell {target}: {cls.__name__}.call requires constants, and Keras 3's keras.layers.RNN passes "
                            "a cell none (it has no constants argument): a cell that reads constants runs on tf_keras "
                            "(--cell-framework tf-keras --constant-shape N)")


def make_cell(structure):
    """A new instance of the user's cell with the structure's keyword arguments."""
    cls = cell_class(structure.target, structure.search_path, structure.framework)
    try:
        cell = cls(**structure.kwargs)
    except Exception as error:  # noqa: BLE001
        raise UserCellError(f"--cell {structure.target}: {cls.__name__}(**{structure.args_json}) failed: {crash_text(error)}") from None
    if not hasattr(cell, "state_size"):
        raise UserCellError(f"--cell {structure.target}: {cls.__name__} has no state_size, so it is not an RNN cell")
    return cell


def _conversions(framework):
    """(to_tensor, to_numpy) for a cell of `framework`, as the layer worker converts
    (conformance/backends/layer_worker/keras_side.py): tf_keras wants TensorFlow tensors for constants."""
    if framework == "tf_keras":
        import tensorflow

        return tensorflow.convert_to_tensor, np.asarray
    import keras

    return keras.ops.convert_to_tensor, lambda value: np.asarray(keras.ops.convert_to_numpy(value))


def probe(target, args_json, search_path, input_shape, framework="keras3", constant_shapes=()):
    """The cell's structure for `input_shape` (and the constants of `constant_shapes`):
    built inside the framework's `RNN` and run once on zeros, so the shapes are what the
    layer sees, whatever the cell declares."""
    keras = keras_of(framework)
    structure = UserCellStructure(target, args_json, search_path, input_shapes=(tuple(input_shape),), framework=framework)
    cell = make_cell(structure)
    _check_constants(target, type(cell), constant_shapes)
    tensor, to_numpy = _conversions(framework)
    constants = [tensor(np.zeros((1,) + tuple(c), "float32")) for c in constant_shapes]
    extra = {"constants": constants} if constants else {}
    try:
        returned = keras.layers.RNN(cell, return_state=True)(tensor(np.zeros((1, 2) + tuple(input_shape), "float32")), **extra)
    except Exception as error:  # noqa: BLE001
        raise UserCellError(f"--cell {target} cannot be built for input shape {tuple(input_shape)}"
                            f"{f' and constants of shapes {list(constant_shapes)}' if constants else ''}: {crash_text(error)}") from None
    output, *states = [to_numpy(r) for r in returned]
    if not states:
        raise UserCellError(f"--cell {target}: the cell has no state (state_size is empty)")
    # What one step returns, as the layer's loop receives it (the layer may cast it back).
    step_output, step_states = cell(np.zeros((1,) + tuple(input_shape), "float32"),
                                    [np.zeros((1,) + s.shape[1:], "float32") for s in states], **extra)
    step_states = step_states if isinstance(step_states, (list, tuple)) else [step_states]
    dtypes = sorted({str(to_numpy(a).dtype) for a in [output, *states, step_output, *step_states]} - {"float32"})
    if dtypes:
        raise UserCellError(f"--cell {target} returns {', '.join(dtypes)} for float32 inputs: its result depends on "
                            "the backend's own float types (e.g. a float64 constant), not on its inputs")
    _check_deterministic(target, keras, cell, input_shape, constant_shapes, (tensor, to_numpy))
    return UserCellStructure(
        target, args_json, search_path,
        input_shapes=(tuple(input_shape),),
        states=tuple(Shape(s.shape[1:]) for s in states),
        outputs=(Shape(output.shape[1:]),),
        weights_shapes=tuple(tuple(w.shape) for w in cell.weights),
        constant_shapes=tuple(tuple(c) for c in constant_shapes),
        framework=framework,
    )


def _check_constants(target, cls, constant_shapes):
    """A cell that reads constants needs their shapes, and only such a cell takes any."""
    if reads_constants(cls) and not constant_shapes:
        raise UserCellError(f"--cell {target}: {cls.__name__}.call reads constants: give each one's per-sample shape "
                            "with --constant-shape N[,N...] (tf_keras builds a cell without them, so they cannot be probed)")
    if constant_shapes and not reads_constants(cls):
        raise UserCellError(f"--cell {target}: --constant-shape given, but {cls.__name__}.call takes no constants argument")


def _check_deterministic(target, keras, cell, input_shape, constant_shapes, conversions):
    """Two runs of one built cell on the same data agree, or the cell is reported, not the
    backends: a cell that draws random numbers or keeps Python-side state between calls
    would make every backend look wrong."""
    tensor, to_numpy = conversions
    x = np.linspace(-1.0, 1.0, 3 * 4 * int(np.prod(input_shape)), dtype="float32").reshape((3, 4) + tuple(input_shape))
    constants = [tensor(np.linspace(-1.0, 1.0, 3 * int(np.prod(c)), dtype="float32").reshape((3,) + tuple(c)))
                 for c in constant_shapes]
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    runs = [[to_numpy(r) for r in layer(x, **({"constants": constants} if constants else {}))] for _ in range(2)]
    if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*runs)):
        raise UserCellError(f"--cell {target} is not deterministic: two runs of one layer on the same input differ "
                            "(random numbers or state kept between calls), so no backend can be held to one result")


@functools.cache
def _built_cell(structure, dtype):
    """One built instance per structure and dtype (the reference reuses it, weights set per
    example): float32 for the forward reference, as the layer computes; float64 where L7's
    central differences perturb the weights and inputs by less than float32 resolves.
    The cell's own __init__ need not take `dtype`: the default policy (Keras 3) or floatx
    (tf_keras) is set around building it."""
    keras = keras_of(structure.framework)
    if structure.framework == "tf_keras":
        previous, set_default = keras.backend.floatx(), keras.backend.set_floatx
    else:
        previous, set_default = keras.config.dtype_policy(), keras.config.set_dtype_policy
    set_default(dtype)
    try:
        cell = make_cell(structure)
        cell.build((None,) + structure.input_shapes[0])  # (tf_keras builds a cell without its constants)
        cell.built = True  # tf_keras' build() does not say so, and its first call would build it again, anew
    finally:
        set_default(previous)
    return cell


def reference_step(spec, weights):
    """The user's step with `weights`: (x, states, constants) -> (output, new states) as
    NumPy arrays. A Keras 3 cell: float32 under the NumPy backend, float64 (L7's
    differences) under TensorFlow; a tf_keras cell: eagerly, in either dtype."""
    dtype, worker_name = reference_backend(spec.structure, weights)
    if spec.structure.framework == "keras3":
        import keras

        if keras.backend.backend() != worker_name:
            raise RuntimeError(f"a user cell's {dtype} reference runs under KERAS_BACKEND={worker_name}, not {keras.backend.backend()}")
    cell = _built_cell(spec.structure, dtype)
    takes_training = getattr(cell, "_call_has_training_arg", False) or getattr(cell, "_expects_training_arg", False)
    kwargs = {"training": False} if takes_training else {}

    def step(x, states, constants=()):
        set_weights(cell, weights)  # (stacked copies of one structure share the instance)
        # All in the step's dtype: TensorFlow ops do not promote float32 to float64, and the
        # default initial states (zeros) stay float32 in L7's float64 differences.
        extra = {"constants": [np.asarray(c, dtype) for c in constants]} if constants else {}
        output, new_states = cell(np.asarray(x, dtype), [np.asarray(s, dtype) for s in states], **kwargs, **extra)
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
