"""`--cell MODULE:CLASS`: the layer properties run on a user's own cell (a pytest plugin).

With `--cell`, the cell is probed first (imported and built inside `keras.layers.RNN`
in a NumPy-backend worker, or with `--cell-framework tf-keras` inside `tf_keras.layers.RNN`, conformance/contract/user_cell_reference.py): a module that does not
import, a class that is not a cell, `--cell-args` that are not a JSON object or do not
fit the class, a cell that cannot be built for `--input-shape`, each is one line and a
usage error. Then only conformance/properties/test_user_cell.py is collected, on the Keras 3 layer
rows (every installed one unless `--backends` names some; layer-tf-keras for a tf_keras cell); without `--cell` that module
is not collected at all.
"""

from pathlib import Path

import pytest

from cells.user_cell import UserCellError, parse_cell_options
from conformance.backends.user_cell_rows import DEFAULT_INPUT_SHAPE, cell_rows, probe_cell
from conformance.harness import this_run
from conformance.judge import run_state

USER_CELL_PATH = Path(__file__).resolve().parents[1] / "properties" / "test_user_cell.py"


def structure():
    """The probed UserCellStructure of this run (its RunState's `user_cell`)."""
    cell = run_state.current().user_cell
    if cell is None:
        raise RuntimeError("conformance/properties/test_user_cell.py runs only with --cell MODULE:CLASS")
    return cell


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption("--cell", default=None, metavar="MODULE:CLASS",
                    help="test your own Keras 3 cell (a keras.layers.Layer with state_size) on the Keras 3 layer rows")
    group.addoption("--cell-args", default=None, metavar="JSON", help="keyword arguments of the --cell class, a JSON object")
    group.addoption("--input-shape", default=DEFAULT_INPUT_SHAPE, metavar="N[,N...]",
                    help=f"per-step input shape the --cell cell is built for (default: {DEFAULT_INPUT_SHAPE})")
    group.addoption("--cell-framework", default=None, metavar="keras3|tf-keras",
                    help="the Keras the --cell cell is written for (default keras3; tf-keras runs on layer-tf-keras)")
    group.addoption("--constant-shape", action="append", default=None, metavar="N[,N...]",
                    help="per-sample shape of a constant the --cell cell's call reads (tf-keras), once per constant")


@pytest.hookimpl(tryfirst=True)  # before conformance.plugin reads --backends
def pytest_configure(config):
    target = config.getoption("--cell")
    if target is None:
        for option in ("--cell-args", "--cell-framework", "--constant-shape"):
            if config.getoption(option) is not None:
                raise pytest.UsageError(f"{option} needs --cell MODULE:CLASS")
        return
    try:
        options = parse_cell_options(target, config.getoption("--cell-args"), config.getoption("--input-shape"),
                                     config.getoption("--cell-framework"), config.getoption("--constant-shape"))
        config.option.backends = ",".join(cell_rows(options.framework, config.getoption("--backends")))
        this_run.of(config).user_cell = probe_cell(options)
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
