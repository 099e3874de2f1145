"""The wings of conformance/ are stacked: every import points down (issue 38).

A module may import its own wing and the wings below it, never one above: the oracle
(contract/) never reaches the process machinery, the comparison (judge/) never the
reproducers, the command never a pytest plugin's internals. `cells/` is below them all.
The order is read from the code's own imports (ast), so a planted upward import fails.
"""

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
# Top to bottom. The package's root modules are its public face: cli and __main__ on top,
# plugin.py and pytest_entry.py with the pytest side, repro.py with the replay wing.
ORDER = ["face", "command", "research", "properties", "harness", "replay", "judge", "backends", "impls",
         "results", "contract", "known", "base", "cells"]
ROOT_MODULES = {"cli": "face", "__main__": "face", "plugin": "harness", "pytest_entry": "harness", "repro": "replay",
                "moved": "base"}


def wing_of(module):
    """The wing of a dotted module name of this repository, or None for a third party."""
    parts = module.split(".")
    if parts[0] == "cells":
        return "cells"
    if parts[0] != "conformance":
        return None
    if len(parts) == 1:
        return "base"  # the package itself: installs the finder of moved names only
    return ROOT_MODULES.get(parts[1], parts[1])


def imports_of(source, module, is_package=False):
    """The dotted names `source` imports (absolute, `from x import y` as x.y and x)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [base] + [f"{base}.{a.name}" for a in node.names]
    return found


def upward_imports(sources):
    """(importer, imported, importer's wing, imported's wing) for every import that runs
    up the ORDER; `sources` maps a module's dotted name to (source, is_package)."""
    upward = []
    for module, (source, is_package) in sources.items():
        here = wing_of(module)
        for name in imports_of(source, module, is_package):
            there = wing_of(name)
            if there is None or there == here or there not in ORDER:
                continue
            if ORDER.index(there) < ORDER.index(here):
                upward.append((module, name, here, there))
    return sorted(set(upward))


def repository_sources():
    sources = {}
    for path in sorted([*REPOSITORY.glob("conformance/**/*.py"), *REPOSITORY.glob("cells/**/*.py")]):
        parts = path.relative_to(REPOSITORY).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        sources[module] = (path.read_text(), is_package)
    return sources


# The knots still open (issue 38), each an (importer, imported module). The test asserts
# exactly this set: a new upward import fails it, and so does untying one of these
# without removing it here.
KNOTS = {
    # the reference of a user's Keras cell steps it in a worker process (Keras picks its
    # backend once per process): the oracle should be handed that step, not start a worker
    ("conformance.contract.user_cell_reference", "conformance.backends.layer_worker.client"),
    # replaying a user-cell case sets the cell the properties module reads at import,
    # which is the --cell plugin's run state
    ("conformance.replay.repro", "conformance.harness.user_cell_plugin"),
    # a --cell target is refused where it would shadow the suite's packages or is not a
    # declared finding's cell: both lists live above cells/ (imported inside the function)
    ("cells.user_cell", "conformance.base.usage"),
    ("cells.user_cell", "conformance.known.known_cells"),
}


def upward_modules(sources):
    """(importer, imported module) of each upward import, a `from m import name` as m."""
    return {(a, b if b in sources else b.rpartition(".")[0]) for a, b, _, _ in upward_imports(sources)}


def test_every_import_points_down():
    upward = upward_modules(repository_sources())
    assert not upward - KNOTS, "imports against the order of the wings:\n" + "\n".join(
        f"  {a} imports {b}" for a, b in sorted(upward - KNOTS))
    assert not KNOTS - upward, f"untied, remove from KNOTS: {sorted(KNOTS - upward)}"


def test_every_module_is_in_a_wing():
    unplaced = {m for m in repository_sources() if wing_of(m) not in ORDER}
    assert not unplaced, f"modules in no wing of ORDER: {sorted(unplaced)}"


@pytest.mark.parametrize("importer, imported", [
    ("conformance.base.limits", "from conformance.command import run_command"),
    ("conformance.contract.reference", "import conformance.backends.layer_worker.client"),
    ("cells.spec", "from conformance.judge.assertions import Divergence"),
    ("conformance.judge.checks", "from ..replay import repro"),
])
def test_a_planted_upward_import_is_found(importer, imported):
    sources = {importer: (imported + "\n", False)}
    assert upward_imports(sources), f"{imported} in {importer} was not seen"


def test_a_downward_import_is_not_flagged():
    sources = {"conformance.command.run_command": ("from conformance.base import usage\nfrom cells import spec\n", False)}
    assert not upward_imports(sources)
