"""Validation of saved cases: a case file is data, never code.

A case (rnn-conformance-repros/*.json, conformance/known/*.json) comes from disk and is
rendered into scripts people run, so every field is checked here, once, before anything
reads it: exact keys, types, ranges, names from fixed sets, identifiers where names are
used, and shapes that agree with each other (so an accepted case renders and replays
without surprises). Anything else is one `CaseError` line. Rendering then only writes
validated bools, ints, floats and strings as literals.
"""

import json
import re
from math import prod

from cells.case_fields import (MAX_DIM, MAX_ELEMENTS, MAX_RANK, CaseError, check_bool, check_int, check_keys, check_list,
                               check_match, check_number, check_one_of, check_text, per_sample_shape, short)
from cells.example import MASK_FORMATS
from cells.input_files import InputFileError, read_text
from cells.layer_example import DTYPE_POLICIES, MASK_ROUTES, MERGE_MODES, WEIGHTS_LAYOUTS
from cells.dtypes import ALL as DTYPE_NAMES
from cells.stack_schema import check_stack
from cells.spec import ACTIVATIONS, INPUT_TRANSFORMS, OUTPUT_KINDS, STATE_KINDS
from cells.strategies import MASK_FAMILIES
from cells.builtin_cell import PATHS
from cells.builtin_cell_schema import check_builtin_cell, is_builtin_cell_dict
from cells.user_cell_schema import check_user_cell, is_user_cell_dict

DTYPES = DTYPE_NAMES  # of a cell and of its data arrays (cells/dtypes.py)
MASK_DTYPE = "bool"
MODES = ("eager", "function", "xla", "jit", "compiled", "loop", "call", "predict")
IMPL_OPS = ("numpy", "tensorflow", "jax", "torch")
IMPL_PREFIX = "impl:"
MAX_COUNT = 8  # inputs, states, outputs, constants, stacked cells
MAX_BATCH = MAX_STEPS = 1024
MAX_CASE_BYTES = 64 * 2**20  # the largest valid case (MAX_ELEMENTS per array, as JSON numbers) is far smaller

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*")
_BACKEND = re.compile(r"[a-z0-9][a-z0-9.-]*")
_PROPERTY = re.compile(rf"test_[A-Za-z0-9_]*::test_[A-Za-z0-9_]*")
_RULE = re.compile(r"[RLG][0-9]{1,2}")  # G: the gradient rules (contract section 5)

CASE_KEYS = ("backend", "mode", "property", "rule", "summary", "drawn", "example")
OPTIONAL_CASE_KEYS = ("diverging_example", "impl_ops")
OPTION_KEYS = ("go_backwards", "unroll", "time_major", "zero_output_for_mask", "return_all_outputs", "pass_input_length")
LAYER_OPTION_KEYS = ("return_state", "initial_state", "state_size_as_int", "bidirectional")
STACK_KEYS = ("next_layers", "mask_each_layer", "stack_build")  # a stack of layers (L8; cells/stack_schema.py)
# Options the layer fixes at their defaults (cells/layer_strategies.py): not in a layer case.
LAYER_FIXED_OPTIONS = {"time_major": False, "pass_input_length": False, "mask_format": "bool"}

# Every name a valid case may hold that a script uses as a name (an attribute such as
# np.float32 or np.tanh): the suite's tests allow exactly these in a script's code.
FIXED_NAMES = frozenset(DTYPES + (MASK_DTYPE,) + ACTIVATIONS + IMPL_OPS + INPUT_TRANSFORMS)


def read_case(path):
    """The validated case stored at `path` (JSON); any problem is one CaseError."""
    try:
        text = read_text(path, "case", MAX_CASE_BYTES)
    except InputFileError as error:
        raise CaseError(str(error)) from None
    return parse_case(text)


def parse_case(text):
    """The validated case in a JSON text; any problem is one CaseError."""
    try:
        case = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise CaseError(f"not JSON: {error}") from None
    return check_case(case)


def check_case(case):
    """`case` if it is a valid case dict, else CaseError naming the first bad field."""
    check_keys(case, CASE_KEYS, OPTIONAL_CASE_KEYS, "case")
    if isinstance(case["backend"], str) and case["backend"].startswith(IMPL_PREFIX):
        check_impl_target(case["backend"][len(IMPL_PREFIX):], "backend")
        if "impl_ops" not in case:
            raise CaseError("impl_ops: missing (an --impl case says which array library its loop takes)")
    else:
        check_match(case["backend"], _BACKEND, "backend", "a backend name")
    check_one_of(case["mode"], MODES, "mode")
    check_match(case["property"], _PROPERTY, "property", '"test_module::test_function"')
    check_match(case["rule"], _RULE, "rule", "a rule id such as R4, L1 or G3")
    check_text(case["summary"], "summary")
    _drawn(case["drawn"])
    check_example(case["example"], "example")
    if "diverging_example" in case:
        check_example(case["diverging_example"], "diverging_example")
        if ("layer" in case["example"]) != ("layer" in case["diverging_example"]):
            raise CaseError("diverging_example: not the same kind of example as example")
    if "impl_ops" in case:
        check_one_of(case["impl_ops"], IMPL_OPS, "impl_ops")
    _one_user_cell(case)
    return case


def user_cells_named(data):
    """Every user cell's "module:Class" anywhere in a case (a stack's layers and the
    diverging example included)."""
    found, pending = [], [data]
    while pending:  # (iterative: a validated case is shallow, but this runs on any JSON)
        item = pending.pop()
        if isinstance(item, dict):
            if isinstance(item.get("user_cell"), dict):
                found.append(item["user_cell"].get("target"))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _one_user_cell(case):
    """A case names at most one user cell, and names it in its example's first structure:
    consent to import it (`--cell MODULE:CLASS`) is asked for that one name, so no other
    part of the case may bring in a module of its own."""
    named = set(user_cells_named(case))
    first = case["example"]["structure"].get("user_cell", {}).get("target")
    if len(named) > 1 or named and first is None:
        raise CaseError(f"a case names one user cell, in example.structure; this one names {short(sorted(map(str, named)))}")


def check_impl_target(target, where="impl_target"):
    """"module.name:function" as (module, function): a dotted identifier and an identifier."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise CaseError(f"{where}: {short(target)} is not MODULE:FUNCTION")
    module, function = target.split(":")
    if not _DOTTED.fullmatch(module) or not re.fullmatch(_IDENTIFIER, function):
        raise CaseError(f"{where}: {short(target)} is not MODULE:FUNCTION (a dotted module name and a function name)")
    return module, function


def check_example(data, where="example"):
    """A serialized Example or LayerExample (cells/serialize.py), consistent in every part."""
    layer = isinstance(data, dict) and "layer" in data
    keys = ("structure", "weights", "options", "inputs", "initial_states", "constants", "mask", "mask_family")
    check_keys(data, keys + (("layer", "stacked") if layer else ()), STACK_KEYS if layer else (), where)
    if layer and ("next_layers" in data) != ("mask_each_layer" in data) or layer and ("next_layers" in data) != ("stack_build" in data):
        raise CaseError(f"{where}: next_layers, mask_each_layer and stack_build come together (a stack of layers)")
    structure = _structure(data["structure"], f"{where}.structure")
    if "identity" in structure and not layer:
        raise CaseError(f"{where}.structure: a user's cell (--cell) runs only in a layer example")
    _weights(data["weights"], structure, f"{where}.weights")
    _options(data["options"], layer, f"{where}.options")
    check_one_of(data["mask_family"], MASK_FAMILIES, f"{where}.mask_family")
    inputs = check_list(data["inputs"], f"{where}.inputs", len(structure["input_shapes"]))
    first = _array(inputs[0], structure["dtype"], f"{where}.inputs[0]", min_rank=2)
    batch, steps = first[:2]
    if batch > MAX_BATCH or steps > MAX_STEPS:
        raise CaseError(f"{where}.inputs[0]: B and T are at most {MAX_BATCH}")
    specs = [structure]
    if layer:
        specs += _layer(data, structure, where)
    state_shapes = [tuple(s["shape"]) for spec in specs for s in spec["states"]]
    groups = (
        ("inputs", [(batch, steps) + s for s in structure["input_shapes"]]),
        ("initial_states", [(batch,) + s for s in state_shapes]),
        ("constants", [(batch,) + s for s in structure["constant_shapes"]]),
    )
    for name, shapes in groups:
        for i, (array, shape) in enumerate(zip(check_list(data[name], f"{where}.{name}", len(shapes)), shapes)):
            if _array(array, structure["dtype"], f"{where}.{name}[{i}]") != shape:
                raise CaseError(f"{where}.{name}[{i}]: shape {array['shape']}, expected {list(shape)}")
    if data["mask"] is not None and _array(data["mask"], MASK_DTYPE, f"{where}.mask") != (batch, steps):
        raise CaseError(f"{where}.mask: shape {data['mask']['shape']}, expected {[batch, steps]}")
    if layer and "next_layers" in data:
        if specs[1:]:
            raise CaseError(f"{where}.stacked: the first layer of a stack has one cell")
        check_stack(data, structure, data["options"], batch, where,
                    {"structure": _structure, "layer_cell": _layer_cell, "weights": _weights, "options": _options, "array": _array})


def _layer(data, structure, where):
    """The layer's options and stacked cells; the specs of the further cells."""
    options = data["layer"]
    check_keys(options, LAYER_OPTION_KEYS + ("mask_route",), ("merge_mode", "dtype_policy", "weights_layout", "path"), f"{where}.layer")
    check_one_of(options.get("path", "own"), PATHS, f"{where}.layer.path")
    if is_builtin_cell_dict(data["structure"]) and data["stacked"]:
        raise CaseError(f"{where}.stacked: a built-in layer has one cell")
    for key in LAYER_OPTION_KEYS:
        check_bool(options[key], f"{where}.layer.{key}")
    check_one_of(options["mask_route"], MASK_ROUTES, f"{where}.layer.mask_route")
    check_one_of(options.get("merge_mode", "concat"), MERGE_MODES, f"{where}.layer.merge_mode")
    check_one_of(options.get("dtype_policy", "float32"), DTYPE_POLICIES, f"{where}.layer.dtype_policy")
    check_one_of(options.get("weights_layout", "whole"), WEIGHTS_LAYOUTS, f"{where}.layer.weights_layout")
    if options.get("dtype_policy", "float32") != "float32" and "next_layers" in data:
        raise CaseError(f"{where}.layer.dtype_policy: a stack of layers (L8) is float32")
    specs, previous = [], structure
    for k, spec in enumerate(check_list(data["stacked"], f"{where}.stacked", max_length=MAX_COUNT)):
        check_keys(spec, ("structure", "weights"), (), f"{where}.stacked[{k}]")
        cell = _structure(spec["structure"], f"{where}.stacked[{k}].structure")
        if cell.get("identity") != structure.get("identity"):
            raise CaseError(f"{where}.stacked[{k}].structure: not the same cell as the first (a user's cell stacks with itself only)")
        _weights(spec["weights"], cell, f"{where}.stacked[{k}].weights")
        if cell["input_shapes"] != [previous["outputs"][0]["shape"]]:
            raise CaseError(f"{where}.stacked[{k}]: its input is not the previous cell's output shape")
        specs.append(cell)
        previous = cell
    for k, cell in enumerate([structure] + specs):
        _layer_cell(cell, f"{where}.{'structure' if k == 0 else f'stacked[{k - 1}].structure'}")
    if options["state_size_as_int"] and (len(structure["states"]) != 1 or specs):
        raise CaseError(f"{where}.layer.state_size_as_int: only for one cell with one state")
    return specs


def _layer_cell(cell, where):
    """What `keras.layers.RNN` accepts (L4) of the suite's own cells: one rank-1 input and
    output, rank-1 states, no constants, float32 (a user's cell has the shapes probing found)."""
    if "identity" in cell:
        return
    if len(cell["input_shapes"]) != 1 or len(cell["input_shapes"][0]) != 1:
        raise CaseError(f"{where}.input_shapes: a layer cell has one rank-1 input")
    if len(cell["outputs"]) != 1 or len(cell["outputs"][0]["shape"]) != 1:
        raise CaseError(f"{where}.outputs: a layer cell has one rank-1 output")
    if not cell["states"] or any(len(s["shape"]) != 1 for s in cell["states"]):
        raise CaseError(f"{where}.states: a layer cell has one or more rank-1 states")
    if cell["constant_shapes"]:
        raise CaseError(f"{where}.constant_shapes: a layer cell has no constants")
    if cell["dtype"] != "float32":
        raise CaseError(f"{where}.dtype: a layer cell is float32")
    if cell["input_transform"] != "none":
        raise CaseError(f"{where}.input_transform: a layer cell has none")


def _structure(s, where):
    """A CellStructure dict, with its shapes as tuples in the returned copy."""
    if is_user_cell_dict(s):
        return check_user_cell(s, where)
    if is_builtin_cell_dict(s):
        return check_builtin_cell(s, where)
    keys = ("input_shapes", "states", "outputs", "constant_shapes", "hidden", "hidden_activation", "dtype")
    check_keys(s, keys, ("input_transform",), where)  # optional: cases saved before it read as "none"
    checked = dict(s)
    checked["input_transform"] = check_one_of(s.get("input_transform", "none"), INPUT_TRANSFORMS, f"{where}.input_transform")
    checked["input_shapes"] = [per_sample_shape(x, f"{where}.input_shapes[{i}]") for i, x in enumerate(check_list(s["input_shapes"], f"{where}.input_shapes", min_length=1, max_length=MAX_COUNT))]
    checked["constant_shapes"] = [per_sample_shape(x, f"{where}.constant_shapes[{i}]") for i, x in enumerate(check_list(s["constant_shapes"], f"{where}.constant_shapes", max_length=MAX_COUNT))]
    checked["states"] = [_part(p, STATE_KINDS, f"{where}.states[{i}]") for i, p in enumerate(check_list(s["states"], f"{where}.states", max_length=MAX_COUNT))]
    checked["outputs"] = [_part(p, OUTPUT_KINDS, f"{where}.outputs[{i}]") for i, p in enumerate(check_list(s["outputs"], f"{where}.outputs", min_length=1, max_length=MAX_COUNT))]
    check_int(s["hidden"], f"{where}.hidden", 1, MAX_DIM)
    check_one_of(s["hidden_activation"], ACTIVATIONS, f"{where}.hidden_activation")
    check_one_of(s["dtype"], DTYPES, f"{where}.dtype")
    input_size = sum(prod(x) for x in checked["input_shapes"])
    for i, out in enumerate(checked["outputs"]):
        if out["kind"] == "state0" and (not checked["states"] or out["shape"] != checked["states"][0]["shape"]):
            raise CaseError(f"{where}.outputs[{i}]: a state0 output has the shape of state 0")
        if out["kind"] == "echo" and prod(out["shape"]) % input_size:
            raise CaseError(f"{where}.outputs[{i}]: an echo output's size is a multiple of the input size {input_size}")
    return checked


def _part(p, kinds, where):
    check_keys(p, ("shape", "kind", "activation"), (), where)
    check_one_of(p["kind"], kinds, f"{where}.kind")
    check_one_of(p["activation"], ACTIVATIONS, f"{where}.activation")
    return dict(p, shape=per_sample_shape(p["shape"], f"{where}.shape"))


def _weights(weights, structure, where):
    """One list of finite numbers per weight array, each of its array's size."""
    shapes = _weight_shapes(structure)
    for i, (values, shape) in enumerate(zip(check_list(weights, where, len(shapes)), shapes)):
        if prod(shape) > MAX_ELEMENTS:
            raise CaseError(f"{where}[{i}]: more than {MAX_ELEMENTS} weights")
        for value in check_list(values, f"{where}[{i}]", prod(shape)):
            check_number(value, structure["dtype"], f"{where}[{i}]", finite=True)


def _weight_shapes(structure):
    """The suite's cell's arrays (cells/build.py), or a user's cell's `weights` as probed."""
    if "weight_shapes" in structure:
        return structure["weight_shapes"]
    inputs = sum(prod(x) for x in structure["input_shapes"] + [s["shape"] for s in structure["states"]] + structure["constant_shapes"])
    shapes = [(inputs, structure["hidden"]), (structure["hidden"],)]
    return shapes + [(structure["hidden"], prod(p["shape"])) for p in structure["states"] + structure["outputs"] if p["kind"] == "dense"]


def _options(options, layer, where):
    check_keys(options, OPTION_KEYS + ("mask_format",), (), where)
    for key in OPTION_KEYS:
        check_bool(options[key], f"{where}.{key}")
    check_one_of(options["mask_format"], MASK_FORMATS, f"{where}.mask_format")
    if layer:
        for key, value in LAYER_FIXED_OPTIONS.items():
            if options[key] != value:
                raise CaseError(f"{where}.{key}: a layer case keeps it at {value!r}")


def _array(a, dtype, where, min_rank=1):
    """A serialized array ({dtype, shape, values}) of `dtype`; its shape as a tuple."""
    check_keys(a, ("dtype", "shape", "values"), (), where)
    if a["dtype"] != dtype:
        raise CaseError(f"{where}.dtype: {short(a['dtype'])}, expected {dtype!r}")
    shape = check_list(a["shape"], f"{where}.shape", min_length=min_rank, max_length=MAX_RANK + 2)
    for n in shape:
        check_int(n, f"{where}.shape", 1, max(MAX_BATCH, MAX_DIM))
    if prod(shape) > MAX_ELEMENTS:
        raise CaseError(f"{where}: more than {MAX_ELEMENTS} values")
    values = check_list(a["values"], f"{where}.values", prod(shape))
    for value in values:
        if dtype == MASK_DTYPE:
            check_bool(value, f"{where}.values")
        else:
            check_number(value, dtype, f"{where}.values", finite=False)
    return tuple(shape)


def _drawn(drawn):
    """The property's other draws (replayed as keyword arguments): names to scalars."""
    if not isinstance(drawn, dict) or len(drawn) > MAX_COUNT:
        raise CaseError("drawn: expected a mapping of at most 8 names to values")
    for key, value in drawn.items():
        if not re.fullmatch(_IDENTIFIER, key) or key in ("target", "example"):
            raise CaseError(f"drawn: {short(key)} is not a name a property draws")
        if isinstance(value, str):
            check_text(value, f"drawn.{key}")
        elif value is not None and not isinstance(value, (bool, int, float)):
            raise CaseError(f"drawn.{key}: expected a number, a bool, a string or null, got {type(value).__name__}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
            raise CaseError(f"drawn.{key}: {short(value)} is out of range")
