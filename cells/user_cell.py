"""A cell someone wrote, as data: where to import it from and what probing it found.

A `UserCellStructure` stands where the suite's own `CellStructure` stands in a layer
example (cells/layer_example.py): it has the shapes the layer properties, the facts and
the comparisons read (one input, rank-1 states and output, the weight shapes), but its
step is the user's `call`, not `cells.build.make_step`. The shapes come from building the
cell in a worker (conformance/backends/layer_worker/user_cell_side.py), never from trusting the user.
Weights are drawn like the suite's own (`CellSpec` over this structure) and set with
`set_weights`, so each backend and the reference run the same numbers.
"""

import json
from dataclasses import dataclass

from cells.case_fields import MAX_DIM, short
from cells.module_names import is_known_cell, suite_package_clash


class UserCellError(ValueError):
    """A usage error about `--cell`, `--cell-args` or `--input-shape`: one line, exit 2."""


@dataclass(frozen=True)
class Shape:
    """A state's or output's per-sample shape (what `CellStructure.states` items carry)."""

    shape: tuple
    kind: str = "user"  # (facts: a user cell's output is never assumed to be its first state)


@dataclass(frozen=True)
class UserCellStructure:
    target: str  # "module:Class"
    args_json: str = "{}"  # keyword arguments of the class, as JSON text (data, never code)
    search_path: str = ""  # the directory the user ran from: where `module` is imported
    input_shapes: tuple = ((1,),)
    states: tuple = ()  # of Shape
    outputs: tuple = ()  # of Shape (one)
    weights_shapes: tuple = ()  # of the cell's `weights`, in that order
    constant_shapes: tuple = ()  # per-sample shapes of the constants its call reads (tf_keras)
    dtype: str = "float32"
    input_transform: str = "none"
    nested_inputs: bool = False
    nested_output: bool = False
    framework: str = "keras3"  # the Keras the cell is written for: a key of FRAMEWORKS
    # Where the output is not the input's shape: the same cell probed for the input a
    # stacked copy gets (copies[0] takes this one's output, copies[1] copies[0]'s, ...), up
    # to one whose output is an input already probed. Empty: copies cannot stack, or need not.
    copies: tuple = ()

    def weight_shapes(self):
        return list(self.weights_shapes)

    def families(self):
        return {"user-cell"}

    @property
    def kwargs(self):
        return json.loads(self.args_json)


# --cell-framework: the Keras a cell is written for -> (its layer flavor, the rows it runs on
# as a description). A tf_keras cell runs on layer-tf-keras only; a Keras 3 cell on every
# Keras 3 layer row.
FRAMEWORKS = {"keras3": "keras3", "tf-keras": "tf_keras"}
DEFAULT_FRAMEWORK = "keras3"


def is_user_cell(structure):
    """Whether a spec's structure is a user's cell (--cell) rather than one the suite drew."""
    return isinstance(structure, UserCellStructure)


def cannot_run_at_all(divergence):
    """Whether a crash of a user's cell came on the plainest layer example (B = 1, T = 1,
    no mask, every option at its default, one cell): the cell cannot run on that row at
    all, which is the cell author's first thing to know, before any divergence."""
    from cells.example import changed_fields

    example = divergence.example
    return (divergence.crash is not None and example is not None and is_user_cell(example.structure)
            and example.batch == 1 and example.steps == 1 and example.mask is None and not example.stacked
            and not changed_fields(example.options) and not changed_fields(example.layer))


def parse_target(text):
    """'package.module:Class' -> (module, class name), or a UserCellError."""
    module, sep, name = (text or "").partition(":")
    if not sep or not module or not name.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
        raise UserCellError(f"--cell {text!r}: expected MODULE:CLASS, for example mypackage.cells:PeepholeCell")
    return module, name


def check_cell_module(target):
    """A UserCellError unless Python would import the module of `target` from where the
    user runs: a module named like one of the suite's own packages (./cells.py) would be
    the suite's. The suite's own cells (conformance/known/known_cells) are the suite's to import."""
    module, _ = parse_target(target)
    message = None if is_known_cell(target) else suite_package_clash("--cell", target, module)
    if message:
        raise UserCellError(message)


def parse_args(text):
    """--cell-args: a JSON object of keyword arguments (canonical JSON text), or a UserCellError."""
    if text is None:
        return "{}"
    if len(text) > MAX_CELL_ARGS:
        raise UserCellError(f"--cell-args is {len(text):,} characters long; at most {MAX_CELL_ARGS:,}")
    try:
        value = json.loads(text, parse_constant=_not_a_number)
    except json.JSONDecodeError as error:
        raise UserCellError(f"--cell-args is not JSON: {error.msg} at character {error.pos}") from None
    except RecursionError:
        raise UserCellError("--cell-args is nested too deeply") from None
    if _depth(value) > MAX_CELL_ARGS_DEPTH:
        raise UserCellError(f"--cell-args is nested more than {MAX_CELL_ARGS_DEPTH} deep")
    if not isinstance(value, dict):
        raise UserCellError(f"--cell-args must be a JSON object of keyword arguments, got {type(value).__name__}")
    return json.dumps(value, sort_keys=True)


MAX_CELL_ARGS = 100_000  # characters of --cell-args
MAX_CELL_ARGS_DEPTH = 32  # objects and lists within each other: a reproducer writes them as a literal


def _not_a_number(name):
    raise UserCellError(f"--cell-args holds {name}, which is not JSON (nor a literal a reproducer can write): "
                        "give a finite number")


def _depth(value):
    """How deep objects and lists nest in a parsed JSON value (iterative)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_input_shape(text):
    """--input-shape: positive integers separated by commas ('3' or '2,3'), or a UserCellError."""
    try:
        shape = tuple(int(part) for part in text.split(",")) if len(text) <= 100 else ()
    except ValueError:
        shape = ()
    if not 1 <= len(shape) <= 3 or any(not 1 <= size <= MAX_DIM for size in shape):
        raise UserCellError(f"--input-shape {short(text)}: expected 1 to 3 integers from 1 to {MAX_DIM} separated by commas, "
                            "e.g. 3 or 2,3")
    return shape


def parse_framework(text):
    """--cell-framework: 'keras3' or 'tf-keras' -> the layer flavor ("keras3", "tf_keras")."""
    name = DEFAULT_FRAMEWORK if text is None else text
    if name not in FRAMEWORKS:
        raise UserCellError(f"--cell-framework {text!r}: expected one of {', '.join(FRAMEWORKS)}")
    return FRAMEWORKS[name]


def parse_constant_shapes(texts):
    """--constant-shape, once per constant the cell's call reads: a tuple of shapes."""
    shapes = []
    for text in texts or ():
        try:
            shapes.append(parse_input_shape(text))
        except UserCellError:
            raise UserCellError(f"--constant-shape {short(text)}: expected 1 to 3 integers from 1 to {MAX_DIM} separated by "
                                "commas, e.g. 2 or 2,3") from None
    return tuple(shapes)


@dataclass(frozen=True)
class CellOptions:
    """The --cell options, parsed once (the command checks them, the plugin probes with them)."""

    target: str
    args_json: str
    input_shape: tuple
    framework: str  # a layer flavor: "keras3" or "tf_keras"
    constant_shapes: tuple


def parse_cell_options(target, cell_args, input_shape, framework, constant_shapes):
    """The --cell options as given on the command line -> CellOptions, or a UserCellError."""
    check_cell_module(target)
    return CellOptions(target, parse_args(cell_args), parse_input_shape(input_shape), parse_framework(framework),
                       parse_constant_shapes(constant_shapes))


def framework_option(framework):
    """The --cell-framework spelling of a layer flavor ("tf_keras" -> "tf-keras")."""
    return {flavor: name for name, flavor in FRAMEWORKS.items()}[framework]


def render_user_cell(spec, name):
    """Script source of a class `name`: the user's cell with the spec's arguments, whose
    weights are set to the spec's values once built. Only validated parts reach the
    source: the module and class are identifiers, the arguments a JSON literal."""
    from cells.render import render_weights

    s = spec.structure
    module, class_name = parse_target(s.target)
    arguments = json.loads(parse_args(s.args_json))
    return f"""sys.path.insert(0, {str(s.search_path)!r})  # where rnn-conformance imported the cell from
from {module} import {class_name}

{render_weights(spec, f"{name}_W")}


@register
class {name}({class_name}):
    \"\"\"Your cell, with the arguments of the run and the weights of the example.\"\"\"

    def __init__(self, **kwargs):
        super().__init__(**{{**{arguments!r}, **kwargs}})

    def build(self, input_shape):
        super().build(input_shape)
        for w, v in zip(self.weights, {name}_W):
            w.assign(v)
"""


def structure_to_dict(s):
    return {"user_cell": {"target": s.target, "args_json": s.args_json, "search_path": s.search_path,
                          "input_shape": list(s.input_shapes[0]), "states": [list(x.shape) for x in s.states],
                          "output": list(s.outputs[0].shape), "weights": [list(w) for w in s.weights_shapes],
                          "framework": s.framework, "constants": [list(c) for c in s.constant_shapes]}}


def structure_from_dict(d):
    """The UserCellStructure of a validated case's structure (cells/user_cell_schema.py);
    a UserCellError for a module named like the suite's packages (replaying the case, as
    `python -m conformance.repro CASE --cell` does, would import the suite's)."""
    c = d["user_cell"]
    check_cell_module(c["target"])
    return UserCellStructure(target=c["target"], args_json=c["args_json"], search_path=c["search_path"],
                             input_shapes=(tuple(c["input_shape"]),), states=tuple(Shape(tuple(s)) for s in c["states"]),
                             outputs=(Shape(tuple(c["output"])),), weights_shapes=tuple(tuple(w) for w in c["weights"]),
                             constant_shapes=tuple(tuple(x) for x in c["constants"]), framework=c["framework"])
