"""What `rnn-conformance run --cell MODULE:CLASS` checks before any worker starts.

The cell is probed once here, in a NumPy-backend worker process (the command never
imports the user's module), so a cell that cannot be used costs one line and exit 2;
each pytest worker then probes it again for itself (conformance/user_cell_plugin.py).
"""

import os

from cells.user_cell import UserCellError, parse_args, parse_input_shape, parse_target
from conformance.backends import get_backend
from conformance.user_cell_plugin import DEFAULT_INPUT_SHAPE, keras3_layer_rows


def check(args):
    """The Keras 3 layer backends to run the cell on; a UserCellError for bad input."""
    parse_target(args.cell)
    args_json = parse_args(args.cell_args)
    input_shape = parse_input_shape(args.input_shape or DEFAULT_INPUT_SHAPE)
    for option in ("impl", "keras", "tf_keras"):
        if getattr(args, option, None):
            raise UserCellError(f"--cell and --{option.replace('_', '-')} cannot be combined: --cell tests your cell on "
                                "the installed Keras 3 layer rows")
    if args.backends is None:
        names = keras3_layer_rows()
        if not names:
            raise UserCellError("--cell: no Keras 3 layer row is installed (pip install -e '.[keras]')")
    else:
        names = [n.strip() for n in args.backends.split(",") if n.strip()]
        for name in names:
            backend = get_backend(name)
            if getattr(backend, "flavor", None) != "keras3" or backend.level != "layer":
                raise UserCellError(f"--cell runs on the Keras 3 layer rows (layer-keras-*); {name} is not one")
    from conformance import user_cell_reference

    user_cell_reference.probe(args.cell, args_json, os.getcwd(), input_shape)
    return [get_backend(name) for name in names]


def worker_options(args):
    options = ["--cell", args.cell]
    if args.cell_args is not None:
        options += ["--cell-args", args.cell_args]
    if args.input_shape is not None:
        options += ["--input-shape", args.input_shape]
    return options
