"""Validation of a saved stack of layers (L8): the further layers of a layer case.

A layer case (cells/case_schema.py) may carry `next_layers`, each with its own cell,
`rnn` options, layer options and initial states, and with them `mask_each_layer` and
`stack_build`. Checked here as data, like the rest of a case: exact keys and types, names
from fixed sets, shapes that chain (each cell takes the previous layer's sequence), and
the shape of a stack the suite builds (every layer but the last returns its sequence and
no states).
"""

from cells.case_fields import CaseError, check_bool, check_keys, check_list, check_one_of
from cells.builtin_cell import PATHS
from cells.layer_example import MERGE_MODES, STACK_BUILDS

MAX_FURTHER_LAYERS = 2  # a stack of two or three layers (cells/layer_strategies.py)
NEXT_LAYER_KEYS = ("cell", "options", "layer", "initial_states")
NEXT_LAYER_OPTION_KEYS = ("return_state", "initial_state", "state_size_as_int", "bidirectional")


def check_stack(data, first_structure, first_options, batch, where, check):
    """`check` holds the case schema's own checks (structure, weights, options, layer cell,
    array): passed in, so that this module needs none of case_schema's and imports stay
    one way. Returns nothing; raises CaseError."""
    further = check_list(data["next_layers"], f"{where}.next_layers", min_length=1, max_length=MAX_FURTHER_LAYERS)
    check_bool(data["mask_each_layer"], f"{where}.mask_each_layer")
    check_one_of(data["stack_build"], STACK_BUILDS, f"{where}.stack_build")
    if not first_options["return_all_outputs"] or data["layer"]["return_state"]:
        raise CaseError(f"{where}: the first layer of a stack returns its sequence and no states")
    width = _width(first_structure, data["layer"])
    for k, layer in enumerate(further):
        at = f"{where}.next_layers[{k}]"
        check_keys(layer, NEXT_LAYER_KEYS, (), at)
        check_keys(layer["cell"], ("structure", "weights"), (), f"{at}.cell")
        cell = check["structure"](layer["cell"]["structure"], f"{at}.cell.structure")
        check["layer_cell"](cell, f"{at}.cell.structure")
        check["weights"](layer["cell"]["weights"], cell, f"{at}.cell.weights")
        if cell["input_shapes"] != [(width,)]:
            raise CaseError(f"{at}.cell: its input is not the previous layer's sequence (width {width})")
        check["options"](layer["options"], True, f"{at}.options")
        options = layer_options(layer["layer"], f"{at}.layer")
        last = k == len(further) - 1
        if not last and (not layer["options"]["return_all_outputs"] or options["return_state"]):
            raise CaseError(f"{at}: a layer before the last returns its sequence and no states")
        if options["state_size_as_int"] and len(cell["states"]) != 1:
            raise CaseError(f"{at}.layer.state_size_as_int: only for a cell with one state")
        states = check_list(layer["initial_states"], f"{at}.initial_states", len(cell["states"]))
        for i, (array, state) in enumerate(zip(states, cell["states"])):
            if check["array"](array, "float32", f"{at}.initial_states[{i}]") != (batch,) + tuple(state["shape"]):
                raise CaseError(f"{at}.initial_states[{i}]: shape {array['shape']}, expected {[batch, *state['shape']]}")
        width = _width(cell, options)


def layer_options(options, where):
    """A further layer's options: the layer's own, its merge mode optional (concat), and a
    built-in layer's path (issue 41) optional (own)."""
    check_keys(options, NEXT_LAYER_OPTION_KEYS, ("merge_mode", "path"), where)
    for key in NEXT_LAYER_OPTION_KEYS:
        check_bool(options[key], f"{where}.{key}")
    check_one_of(options.get("merge_mode", "concat"), MERGE_MODES, f"{where}.merge_mode")
    check_one_of(options.get("path", "own"), PATHS, f"{where}.path")
    return options


def _width(structure, layer):
    width = structure["outputs"][0]["shape"][0]
    return 2 * width if layer["bidirectional"] and layer.get("merge_mode", "concat") == "concat" else width
