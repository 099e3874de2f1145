"""Examples to and from JSON, so a minimal counterexample can be stored and replayed.

A known divergence keeps the exact example the suite shrank to; the suite's own check
re-runs it to prove the divergence still exists. Reading one validates it first
(cells/case_schema.py): a stored example is data, never code.
"""

from dataclasses import asdict

import numpy as np

from cells.case_schema import check_example
from cells.example import Example, Options
from cells.dtypes import ALL as DTYPE_NAMES, numpy_dtype
from cells.layer_example import LayerExample, LayerOptions, NextLayer
from cells.builtin_cell import is_builtin_cell
from cells.builtin_cell import structure_from_dict as builtin_structure_from_dict
from cells.builtin_cell import structure_to_dict as builtin_structure_to_dict
from cells.user_cell import is_user_cell
from cells.user_cell import structure_from_dict as user_structure_from_dict
from cells.user_cell import structure_to_dict as user_structure_to_dict
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec


def structure_to_dict(s):
    """A CellStructure as a JSON-ready dict; `input_transform` only where it is not "none",
    so the cases saved before it existed and the ones saved now read the same. A user's
    cell (--cell) is saved as where it came from and its probed shapes."""
    if is_user_cell(s):
        return user_structure_to_dict(s)
    if is_builtin_cell(s):
        return builtin_structure_to_dict(s)
    data = {
        "input_shapes": [list(x) for x in s.input_shapes],
        "states": [{"shape": list(st.shape), "kind": st.kind, "activation": st.activation} for st in s.states],
        "outputs": [{"shape": list(o.shape), "kind": o.kind, "activation": o.activation} for o in s.outputs],
        "constant_shapes": [list(c) for c in s.constant_shapes],
        "hidden": s.hidden,
        "hidden_activation": s.hidden_activation,
        "dtype": s.dtype,
    }
    if s.input_transform != "none":
        data["input_transform"] = s.input_transform
    return data


def structure_from_dict(s):
    if "user_cell" in s:
        return user_structure_from_dict(s)
    if "builtin_cell" in s:
        return builtin_structure_from_dict(s)
    return CellStructure(
        input_shapes=tuple(tuple(x) for x in s["input_shapes"]),
        states=tuple(StateSpec(tuple(st["shape"]), st["kind"], st["activation"]) for st in s["states"]),
        outputs=tuple(OutputSpec(tuple(o["shape"]), o["kind"], o["activation"]) for o in s["outputs"]),
        constant_shapes=tuple(tuple(c) for c in s["constant_shapes"]),
        hidden=s["hidden"],
        hidden_activation=s["hidden_activation"],
        dtype=s["dtype"],
        input_transform=s.get("input_transform", "none"),
    )


def example_to_dict(example):
    data = {
        "structure": structure_to_dict(example.structure),
        "weights": [list(w) for w in example.spec.weights],
        "options": asdict(example.options),
        "inputs": [_array(x) for x in example.inputs],
        "initial_states": [_array(x) for x in example.initial_states],
        "constants": [_array(x) for x in example.constants],
        "mask": None if example.mask is None else _array(example.mask),
        "mask_family": example.mask_family,
    }
    if isinstance(example, LayerExample):  # the layer's own options and further cells
        data["layer"] = _layer_options_to_dict(example.layer)
        data["stacked"] = [_spec_to_dict(spec) for spec in example.stacked]
        if example.next_layers:  # a stack of layers (L8)
            data["next_layers"] = [
                {"cell": _spec_to_dict(n.spec), "options": asdict(n.options), "layer": _layer_options_to_dict(n.layer, stack=True),
                 "initial_states": [_array(x) for x in n.initial_states]}
                for n in example.next_layers
            ]
            data["mask_each_layer"], data["stack_build"] = example.mask_each_layer, example.stack_build
    return data


def _layer_options_to_dict(layer, stack=False):
    """Layer options as saved: merge_mode, dtype_policy and weights_layout only where they
    are not their defaults (cases saved before them read the same); a further layer of a
    stack has no mask route of its own."""
    data = asdict(layer)
    for key, default in (("merge_mode", "concat"), ("dtype_policy", "float32"), ("weights_layout", "whole"), ("path", "own")):
        if data[key] == default:
            del data[key]
    if stack:
        del data["mask_route"]
    return data


def example_from_dict(data):
    """The Example (or LayerExample) of a dict from `example_to_dict`; CaseError if invalid."""
    check_example(data)
    structure = structure_from_dict(data["structure"])
    layer = {}
    if "layer" in data:
        layer = dict(layer=LayerOptions(**data["layer"]), stacked=tuple(_spec_from_dict(d) for d in data["stacked"]))
    if "next_layers" in data:
        layer.update(mask_each_layer=data["mask_each_layer"], stack_build=data["stack_build"], next_layers=tuple(
            NextLayer(spec=_spec_from_dict(n["cell"]), options=Options(**n["options"]), layer=LayerOptions(**n["layer"]),
                      initial_states=tuple(_from_array(x) for x in n["initial_states"]))
            for n in data["next_layers"]))
    return (LayerExample if layer else Example)(
        **layer,
        spec=CellSpec(structure, tuple(tuple(w) for w in data["weights"])),
        options=Options(**data["options"]),
        inputs=tuple(_from_array(x) for x in data["inputs"]),
        initial_states=tuple(_from_array(x) for x in data["initial_states"]),
        constants=tuple(_from_array(x) for x in data["constants"]),
        mask=None if data["mask"] is None else _from_array(data["mask"]),
        mask_family=data["mask_family"],
    )


def _spec_to_dict(spec):
    return {"structure": structure_to_dict(spec.structure), "weights": [list(w) for w in spec.weights]}


def _spec_from_dict(d):
    return CellSpec(structure_from_dict(d["structure"]), tuple(tuple(w) for w in d["weights"]))


def _array(a):
    a = np.asarray(a)
    # repr-exact floats: JSON keeps Python floats (doubles), float32 values survive the round trip.
    values = a.ravel().astype(np.float64).tolist() if str(a.dtype) == "bfloat16" else a.ravel().tolist()
    return {"dtype": str(a.dtype), "shape": list(a.shape), "values": values}


def _from_array(d):
    dtype = "bool" if d["dtype"] == "bool" else numpy_dtype(d["dtype"]) if d["dtype"] in DTYPE_NAMES else d["dtype"]
    return np.array(d["values"], dtype=dtype).reshape(d["shape"])
