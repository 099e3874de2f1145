"""A user's cell (--cell) among the backends: the layer rows it runs on and what probing it finds.

Shared by the command (`rnn-conformance --cell`, which checks the options before any worker
starts: conformance/command/user_cell_command.py) and the pytest plugin that runs the cell
(conformance/harness/user_cell_plugin.py), so the command never imports a pytest plugin.
"""

import os
from dataclasses import replace

from cells.user_cell import UserCellError, framework_option

DEFAULT_INPUT_SHAPE = "3"


def keras3_layer_rows():
    """The installed Keras 3 layer rows of a plain run (a user's cell is a Keras 3 cell)."""
    from conformance.backends import default_backends

    return [b.name for b in default_backends()
            if getattr(b, "flavor", None) == "keras3" and b.level == "layer" and b.missing_package() is None]


def cell_rows(framework, backends_option):
    """The layer rows a cell of `framework` runs on: those `--backends` names (each must
    be a row of that framework), or every installed one; a UserCellError otherwise."""
    from conformance.backends import get_backend

    if backends_option is None:
        if framework == "tf_keras":
            missing = get_backend("layer-tf-keras").missing_package()
            if missing is not None:
                raise UserCellError(f"--cell-framework tf-keras: layer-tf-keras is not installed ({missing} missing; "
                                    "pip install -e '.[tfkeras]')")
            return ["layer-tf-keras"]
        rows = keras3_layer_rows()
        if not rows:
            raise UserCellError("--cell: no Keras 3 layer row is installed (pip install -e '.[keras]')")
        return rows
    names = [n.strip() for n in backends_option.split(",") if n.strip()]
    for name in names:
        backend = get_backend(name)
        if backend.level != "layer" or getattr(backend, "flavor", None) != framework:
            rows = "layer-tf-keras" if framework == "tf_keras" else "the Keras 3 layer rows (layer-keras-*)"
            raise UserCellError(f"--cell with --cell-framework {framework_option(framework)} runs on {rows}; {name} is not one")
    return names


MAX_COPY_PROBES = 2  # shapes a chain of stacked copies may pass through before it must repeat one


def probe_cell(options):
    """The UserCellStructure of the cell the CellOptions name, or a UserCellError; where
    its output is not its input's shape, with the copies a stack of it needs."""
    from conformance.backends.layer_worker import remote_reference

    def probe(input_shape):
        return remote_reference.probe(options.target, options.args_json, os.getcwd(), input_shape,
                                      options.framework, options.constant_shapes)

    cell = probe(options.input_shape)
    probed, copies = {cell.input_shapes[0]}, []
    while (shape := (copies or [cell])[-1].outputs[0].shape) not in probed and len(copies) < MAX_COPY_PROBES:
        try:
            copies.append(probe(shape))
        except UserCellError:  # it cannot take its own output: no stacked copies (L6 says so)
            return cell
        probed.add(shape)
    return replace(cell, copies=tuple(copies)) if shape in probed else cell
