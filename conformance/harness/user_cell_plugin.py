"""`--cell MODULE:CLASS`: the layer properties run on a user's own cell (a pytest plugin).

With `--cell`, the cell is probed first (imported and built inside `keras.layers.RNN`
in a NumPy-backend worker, or with `--cell-framework tf-keras` inside `tf_keras.layers.RNN`, conformance/contract/user_cell_reference.py): a module that does not
import, a class that is not a cell, `--cell-args` that are not a JSON object or do not
fit the class, a cell that cannot be built for `--input-shape`, each is one line and a
usage error. Then only conformance/properties/test_user_cell.py is collected, on the Keras 3 layer
rows (every installed one unless `--backends` names some; layer-tf-keras for a tf_keras cell); without `--cell` that module
is not collected at all.
"""

import os
from dataclasses import replace
from pathlib import Path

import pytest

from cells.user_cell import UserCellError, framework_option, parse_cell_options
from conformance.harness import this_run
from conformance.judge import run_state

USER_CELL_PATH = Path(__file__).resolve().parents[1] / "properties" / "test_user_cell.py"
DEFAULT_INPUT_SHAPE = "3"


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
