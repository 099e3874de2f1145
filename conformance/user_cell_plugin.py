"""`--cell MODULE:CLASS`: the layer properties run on a user's own cell (a pytest plugin).

With `--cell`, the cell is probed first (imported and built inside `keras.layers.RNN`
in a NumPy-backend worker, conformance/user_cell_reference.py): a module that does not
import, a class that is not a cell, `--cell-args` that are not a JSON object or do not
fit the class, a cell that cannot be built for `--input-shape`, each is one line and a
usage error. Then only conformance/test_user_cell.py is collected, on the Keras 3 layer
rows (every installed one unless `--backends` names some); without `--cell` that module
is not collected at all.
"""

import os
from pathlib import Path

import pytest

from cells.user_cell import UserCellError, parse_args, parse_input_shape, parse_target

USER_CELL_PATH = Path(__file__).resolve().with_name("test_user_cell.py")
DEFAULT_INPUT_SHAPE = "3"
_STRUCTURE = None  # the probed UserCellStructure of this run


def structure():
    if _STRUCTURE is None:
        raise RuntimeError("conformance/test_user_cell.py runs only with --cell MODULE:CLASS")
    return _STRUCTURE


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption("--cell", default=None, metavar="MODULE:CLASS",
                    help="test your own Keras 3 cell (a keras.layers.Layer with state_size) on the Keras 3 layer rows")
    group.addoption("--cell-args", default=None, metavar="JSON", help="keyword arguments of the --cell class, a JSON object")
    group.addoption("--input-shape", default=DEFAULT_INPUT_SHAPE, metavar="N[,N...]",
                    help=f"per-step input shape the --cell cell is built for (default: {DEFAULT_INPUT_SHAPE})")


def keras3_layer_rows():
    """The installed Keras 3 layer rows of a plain run (a user's cell is a Keras 3 cell)."""
    from conformance.backends import default_backends

    return [b.name for b in default_backends()
            if getattr(b, "flavor", None) == "keras3" and b.level == "layer" and b.missing_package() is None]


@pytest.hookimpl(tryfirst=True)  # before conformance.plugin reads --backends
def pytest_configure(config):
    global _STRUCTURE
    target = config.getoption("--cell")
    if target is None:
        if config.getoption("--cell-args") is not None:
            raise pytest.UsageError("--cell-args needs --cell MODULE:CLASS")
        return
    try:
        parse_target(target)
        args_json = parse_args(config.getoption("--cell-args"))
        input_shape = parse_input_shape(config.getoption("--input-shape"))
        if config.getoption("--backends") is None:
            rows = keras3_layer_rows()
            if not rows:
                raise UserCellError("--cell: no Keras 3 layer row is installed (pip install -e '.[keras]')")
            config.option.backends = ",".join(rows)
        from conformance import user_cell_reference

        _STRUCTURE = user_cell_reference.probe(target, args_json, os.getcwd(), input_shape)
    except UserCellError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_ignore_collect(collection_path, config):
    """With --cell only the user-cell properties; without it, never them."""
    path = Path(collection_path)
    if not (path.is_file() and path.name.startswith("test_") and path.suffix == ".py"):
        return None
    is_user_cell_module = path.resolve() == USER_CELL_PATH
    if config.getoption("--cell") is None:
        return True if is_user_cell_module else None
    return None if is_user_cell_module else True
