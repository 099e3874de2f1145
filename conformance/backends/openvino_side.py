"""Running a function-row `Example` through Keras 3's OpenVINO `rnn`, inside a worker.

Imported only by the worker process (conformance/backends/layer_worker/worker.py, flavor
"openvino-rnn"), started with KERAS_BACKEND=openvino as a user's program would be: the
step function is written with `keras.ops`, which then builds OpenVINO graph nodes, and
Keras' dtype rules are the OpenVINO backend's. The parent is
conformance/backends/keras_openvino.py.

The backend's `rnn` has two code paths, chosen by whether the time dimension is static;
each is a mode:

- "eager": the data and weights are constants (`convert_to_tensor` of NumPy arrays, what
  a user's eager call does), so T is static and Keras takes `_rnn_unrolled`, a Python
  loop over the steps building one flat graph; `convert_to_numpy` compiles and runs it.
- "loop": the data are `Parameter`s with B and T dynamic, so Keras takes `_rnn_loop`, an
  OpenVINO `Loop` whose body is the traced step; the whole graph is one `ov.Model`,
  compiled once per configuration (cell structure, static options, data signature) with
  float32 inference precision requested, as Keras' own `convert_to_numpy` does, and
  reused for new values and new B or T.

Weights are arguments in "loop" mode, so siblings reuse a compile: the step sees them as
named `Constant`s (the Loop body is a Model of its own and may not read the outer
graph's Parameters), and once `rnn` has returned each becomes an outer `Parameter`, fed
into the Loop body as an invariant input, the mechanism Keras itself uses for
`constants`. `rnn` still receives exactly the example's arguments.
"""

from collections import OrderedDict

import numpy as np
import optree

from cells.build import make_step
from cells.dtypes import numpy_dtype
from conformance.backends.base import Result, static_options_and_data

MODES = ("eager", "loop")
COMPILED_KEPT = 16  # as CompiledCache: siblings reuse the last compile; a long run would keep them all
WEIGHT_PREFIX = "rnn_conformance_weight_"
PRECISION = {"INFERENCE_PRECISION_HINT": "f32"}  # what Keras' convert_to_numpy asks for too


def openvino_backend():
    """(core, rnn): the modules of Keras' OpenVINO backend. Inside Keras up to 3.15
    (keras.src.backend.openvino); in the Keras after it, a pluggable backend of its own
    distribution, `keras-openvino` (keras_openvino.src), which Keras imports for
    KERAS_BACKEND=openvino (found in keras-nightly 3.16.0.dev2026102704)."""
    import importlib

    try:  # (import_module: the packages export functions under the modules' names)
        return importlib.import_module("keras.src.backend.openvino.core"), importlib.import_module("keras.src.backend.openvino.rnn")
    except ModuleNotFoundError:
        return importlib.import_module("keras_openvino.src.ops.core"), importlib.import_module("keras_openvino.src.rnn")


class OpenVINORunner:
    """The worker's side of the keras-openvino row: `run(example, mode)` -> Result."""

    def __init__(self):
        import keras

        from cells.ops import KerasOps

        if keras.backend.backend() != "openvino":
            raise RuntimeError(f"the openvino-rnn worker runs Keras on {keras.backend.backend()!r}, not 'openvino'")
        self.keras, self.ops = keras, KerasOps()
        self._compiled = OrderedDict()  # least recently used first
        self.traced = self.reused = 0

    def forget_compiled(self):
        """Drop every compiled model (the worker's ("forget",) request)."""
        self._compiled.clear()

    def describe(self):
        import openvino

        return {"keras": self.keras.__version__, "keras_backend": self.keras.backend.backend(),
                "openvino": openvino.__version__}

    def run(self, example, mode):
        if mode not in MODES:
            raise ValueError(f"keras-openvino has no mode {mode!r}; modes: {', '.join(MODES)}")
        static, data = static_options_and_data(example)
        if mode == "eager":
            return self._eager(example, static, data)
        return self._loop(example, static, data)

    def _eager(self, example, static, data):
        core, rnn = openvino_backend()
        tensors = optree.tree_map(core.convert_to_tensor, data)
        weights = [core.convert_to_tensor(w) for w in example.spec.weight_arrays()]
        returned = rnn.rnn(make_step(example.structure, self.ops, weights), **tensors, **static)
        return Result.from_framework(returned, to_numpy=lambda t: np.asarray(core.convert_to_numpy(t)))

    def _loop(self, example, static, data):
        leaves, treedef = optree.tree_flatten(data)
        weights = example.spec.weight_arrays()
        key = (example.structure, tuple(sorted(static.items())), str(treedef),
               tuple((str(x.dtype), x.ndim) for x in leaves))
        if key in self._compiled:
            self._compiled.move_to_end(key)
            self.reused += 1
        else:
            self._compiled[key] = self._compile(example, static, data, weights)
            if len(self._compiled) > COMPILED_KEPT:
                self._compiled.popitem(last=False)
            self.traced += 1
        compiled, result_treedef = self._compiled[key]
        values = compiled([_ov_tensor(a) for a in (*leaves, *weights)])
        arrays = [_from_ov(values[i], compiled.outputs[i]) for i in range(len(compiled.outputs))]
        last_output, outputs, new_states = optree.tree_unflatten(result_treedef, arrays)
        return Result(last_output, outputs, list(new_states))

    def _compile(self, example, static, data, weights):
        """(compiled model, treedef of (last_output, outputs, new_states)) of one configuration."""
        import openvino as ov
        import openvino.opset16 as ov_opset

        core, rnn_module = openvino_backend()
        OPENVINO_DTYPES, OpenVINOKerasTensor, get_ov_output, rnn = (  # noqa: N806 - Keras' names
            core.OPENVINO_DTYPES, core.OpenVINOKerasTensor, core.get_ov_output, rnn_module.rnn)

        parameters = []  # in optree's order of `data`'s leaves, the order they are fed in

        def parameter(path, array):
            name = path[0]
            shape = [-1] + list(array.shape[1:])  # B dynamic (axis 0 of every argument but time-major data)
            if name in ("inputs", "mask"):
                shape[0] = shape[1] = -1  # B and T dynamic, whichever axis each is
            node = ov_opset.parameter(ov.PartialShape(shape), OPENVINO_DTYPES[str(array.dtype)])
            parameters.append(node)
            return OpenVINOKerasTensor(node.output(0))

        tensors = optree.tree_map_with_path(parameter, data)
        constants = [ov_opset.constant(np.asarray(w), OPENVINO_DTYPES[str(w.dtype)]) for w in weights]
        for i, node in enumerate(constants):
            node.set_friendly_name(f"{WEIGHT_PREFIX}{i}")
        step = make_step(example.structure, self.ops, [OpenVINOKerasTensor(c.output(0)) for c in constants])
        returned = rnn(step, **tensors, **static)
        last_output, outputs, new_states = returned
        leaves, treedef = optree.tree_flatten((last_output, outputs, list(new_states)))
        model = ov.Model([get_ov_output(leaf) for leaf in leaves], parameters)
        weight_parameters = _weights_as_parameters(model, weights)
        model.add_parameters(weight_parameters)
        model.validate_nodes_and_infer_types()
        return ov.Core().compile_model(model, "CPU", PRECISION), treedef


def _weights_as_parameters(model, weights):
    """Replace the weight Constants, in the graph and in every Loop body, by Parameters:
    outer ones (returned, to add to the model) and, per body, body Parameters fed by
    `set_invariant_input` from the outer ones. The step is traced twice by Keras (once
    for the shapes, once into the body), and both graphs read the same Constant nodes, so
    each replacement rewires only the consumers in its own graph."""
    import openvino as ov
    import openvino.opset16 as ov_opset

    def parameter_like(w):
        return ov_opset.parameter(ov.PartialShape(list(w.shape)), _ov_type(w))

    outer = [parameter_like(w) for w in weights]
    outer_ops = model.get_ordered_ops()
    _rewire(outer_ops, {i: p.output(0) for i, p in enumerate(outer)})
    for node in outer_ops:
        if node.get_type_name() != "Loop":
            continue
        body = node.get_function()
        body_ops = body.get_ordered_ops()
        used = sorted({i for i in map(_weight_index, body_ops) if i is not None})
        if not used:
            continue
        fed = {i: parameter_like(weights[i]) for i in used}
        _rewire(body_ops, {i: p.output(0) for i, p in fed.items()})
        body.add_parameters(list(fed.values()))
        body.validate_nodes_and_infer_types()
        node.set_function(body)
        for i, body_parameter in fed.items():
            node.set_invariant_input(body_parameter, outer[i].output(0))
    return outer


def _rewire(ops, replacements):
    """Feed the consumers, among `ops`, of each weight Constant from `replacements[index]`."""
    names = {op.get_name() for op in ops}
    for op in ops:
        index = _weight_index(op)
        if index is None:
            continue
        for target in list(op.output(0).get_target_inputs()):
            if target.get_node().get_name() in names:
                target.replace_source_output(replacements[index])


def _weight_index(node):
    name = node.get_friendly_name()
    if node.get_type_name() == "Constant" and name.startswith(WEIGHT_PREFIX):
        return int(name[len(WEIGHT_PREFIX):])
    return None


def _ov_type(array):
    return openvino_backend()[0].OPENVINO_DTYPES[str(array.dtype)]


def _ov_tensor(array):
    """An array as an input of a compiled model. OpenVINO's Python API reads and writes a
    bf16 tensor's 16-bit patterns as float16 values, and takes an ml_dtypes bfloat16
    array for float16 values: a bfloat16 array goes in as its bit patterns."""
    if str(array.dtype) != "bfloat16":
        return array
    import openvino as ov

    tensor = ov.Tensor(ov.Type.bf16, ov.Shape(list(array.shape)))
    tensor.data[...] = np.ascontiguousarray(array).view(np.float16)
    return tensor


def _from_ov(values, output):
    """An output of a compiled model as NumPy: a bf16 output's bit patterns (handed back
    as float16) viewed as bfloat16 (see `_ov_tensor`)."""
    import openvino as ov

    array = np.asarray(values)
    if output.get_element_type() == ov.Type.bf16:
        return array.view(numpy_dtype("bfloat16"))
    return array
