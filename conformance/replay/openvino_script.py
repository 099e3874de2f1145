"""The keras-openvino parts of a function-row reproducer (conformance/replay/function_script.py).

The script runs under KERAS_BACKEND=openvino, with the step written in `keras.ops`, and
calls Keras' OpenVINO `rnn` the way conformance/backends/openvino_side.py does in the
failing mode: "eager" on constants (`convert_to_tensor`, T static: `_rnn_unrolled`),
"loop" on Parameters with B and T dynamic (Keras' `Loop` path), compiled into one
`ov.Model` with float32 inference precision. One difference, said in the script: the
adapter turns the weight Constants into Parameters after `rnn` returns (so one compile
serves many weight values); the script leaves them Constants, which `rnn` sees the same.
"""

IMPORTS = """\
import numpy as np
import keras
from keras import ops
import openvino as ov
import openvino.opset16 as ov_opset
try:  # Keras' own OpenVINO backend up to 3.15; the pluggable keras-openvino package after it
    from keras.src.backend.openvino.core import OPENVINO_DTYPES, OpenVINOKerasTensor, convert_to_numpy, convert_to_tensor
    from keras.src.backend.openvino.core import get_ov_output
    from keras.src.backend.openvino.rnn import rnn
except ModuleNotFoundError:
    from keras_openvino.src.ops.core import OPENVINO_DTYPES, OpenVINOKerasTensor, convert_to_numpy, convert_to_tensor
    from keras_openvino.src.ops.core import get_ov_output
    from keras_openvino.src.rnn import rnn"""

HELPERS = '''\
def to_numpy(t):
    return np.asarray(convert_to_numpy(t))


PARAMETERS, FEED = [], []  # the "loop" mode's graph inputs and the arrays fed to them, in order


def parameter(a, time_too=False):
    """A Parameter like `a` with B (axis 0) dynamic, and T too for inputs and mask."""
    shape = [-1] + list(a.shape[1:])
    if time_too:
        shape[1] = -1
    node = ov_opset.parameter(ov.PartialShape(shape), OPENVINO_DTYPES[str(a.dtype)])
    PARAMETERS.append(node)
    FEED.append(fed(a))
    return OpenVINOKerasTensor(node.output(0))


def fed(a):
    """OpenVINO's Python API reads an ml_dtypes bfloat16 array as float16 values: a bfloat16
    array goes in as its bit patterns, in a bf16 Tensor (as the suite's adapter does)."""
    if str(a.dtype) != "bfloat16":
        return a
    tensor = ov.Tensor(ov.Type.bf16, ov.Shape(list(a.shape)))
    tensor.data[...] = np.ascontiguousarray(a).view(np.float16)
    return tensor


def returned(values, output):
    """A bf16 output comes back as its bit patterns in float16: viewed as bfloat16."""
    array = np.asarray(values)
    if output.get_element_type() == ov.Type.bf16:
        import ml_dtypes

        return array.view(ml_dtypes.bfloat16)
    return array'''

FRAMEWORK = dict(imports=IMPORTS, helpers=HELPERS, ns="ops", to_tensor="convert_to_tensor", to_numpy="to_numpy")


def openvino_run(mode, arguments, names, data_source):
    """`run()` of the script in `mode`; `data_source(arguments, names, convert)` prints the data."""
    if mode == "eager":
        return [
            "def run():",
            '    """rnn on constants (T static: Keras takes _rnn_unrolled), as the adapter calls it eagerly."""',
            f"    data = {data_source(arguments, names, 'convert_to_tensor')}",
            "    return loop(data, [convert_to_tensor(w) for w in WEIGHTS])",
        ]
    converted = {n: ("lambda a: parameter(a, True)" if n in ("inputs", "mask") else "parameter") for n in names}
    data = data_source(arguments, names, None)
    for name in names:  # each argument through its own converter (inputs and mask get T dynamic too)
        data = data.replace(f"{name}={name}", f"{name}=convert({converted[name]}, {name})", 1)
    return [
        "def convert(make, value):",
        '    """`make` applied to an array, or to each array of a tuple or list."""',
        "    if isinstance(value, (tuple, list)):",
        "        return type(value)(make(a) for a in value)",
        "    return make(value)",
        "",
        "",
        "def run():",
        '    """rnn on Parameters (B and T dynamic: Keras takes its Loop path), compiled into one',
        "    ov.Model with float32 inference precision, as the adapter's \"loop\" mode does (which",
        '    also makes the weights Parameters after rnn returns; here they stay Constants)."""',
        f"    data = {data}",
        "    last_output, outputs, new_states = loop(data, [convert_to_tensor(w) for w in WEIGHTS])",
        "    parts = [leaves(last_output), leaves(outputs), leaves(list(new_states))]",
        "    model = ov.Model([get_ov_output(t) for part in parts for t in part], PARAMETERS)",
        '    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})',
        "    values = compiled(FEED)",
        "    arrays = iter(returned(values[i], compiled.outputs[i]) for i in range(len(compiled.outputs)))",
        "    return [[next(arrays) for _ in part] for part in parts]",
    ]
