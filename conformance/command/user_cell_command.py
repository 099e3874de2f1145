"""What `rnn-conformance run --cell MODULE:CLASS` checks before any worker starts.

The cell is probed once here, in a worker process (NumPy-backend Keras 3, or tf_keras
for --cell-framework tf-keras; the command never imports the user's module), so a cell
that cannot be used costs one line and exit 2; each pytest worker then probes it again for itself (conformance/harness/user_cell_plugin.py).
"""

from cells.user_cell import UserCellError, parse_cell_options
from conformance.backends import get_backend
from conformance.backends.user_cell_rows import DEFAULT_INPUT_SHAPE, cell_rows, probe_cell


def check(args):
    """The layer backends to run the cell on; a UserCellError for bad input."""
    options = parse_cell_options(args.cell, args.cell_args, args.input_shape or DEFAULT_INPUT_SHAPE, args.cell_framework,
                                 args.constant_shape)
    for option in ("impl", "keras", "tf_keras"):
        if getattr(args, option, None):
            raise UserCellError(f"--cell and --{option.replace('_', '-')} cannot be combined: --cell tests your cell on "
                                "the installed layer rows of its Keras")
    names = cell_rows(options.framework, args.backends)
    probe_cell(options)
    return [get_backend(name) for name in names]


def worker_options(args):
    options = ["--cell", args.cell]
    if args.cell_args is not None:
        options += ["--cell-args", args.cell_args]
    if args.input_shape is not None:
        options += ["--input-shape", args.input_shape]
    if args.cell_framework is not None:
        options += ["--cell-framework", args.cell_framework]
    for shape in args.constant_shape or ():
        options += ["--constant-shape", shape]
    return options
