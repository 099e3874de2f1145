"""The wings of conformance/ are stacked: every import points down (issue 38).

A module may import its own wing and the wings below it, never one above: the oracle
(contract/) never reaches the process machinery, the comparison (judge/) never the
reproducers, the command never a pytest plugin's internals. `cells/` is below them all.
The order is read from the code's own imports (ast), so a planted upward import fails.
"""

import ast
import graphlib
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


def imports_of(source, module, is_package=False, modules=None):
    """The dotted names `source` imports (absolute, `from x import y` as x.y and x; given
    the known `modules`, as x.y alone where every y is a module)."""
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
            named = [f"{base}.{a.name}" for a in node.names]
            found += named if modules is not None and set(named) <= modules else [base] + named
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


def upward_modules(sources):
    """(importer, imported module) of each upward import, a `from m import name` as m."""
    return {(a, b if b in sources else b.rpartition(".")[0]) for a, b, _, _ in upward_imports(sources)}


def test_every_import_points_down():
    upward = upward_modules(repository_sources())
    assert not upward, "imports against the order of the wings:\n" + "\n".join(f"  {a} imports {b}" for a, b in sorted(upward))


def test_no_import_cycle_inside_a_wing():
    """Between wings the order forbids a cycle; inside one, this does (graphlib names it)."""
    sources = repository_sources()
    graph = {m: {n for n in imports_of(source, m, is_package, set(sources)) if n in sources and n != m}
             for m, (source, is_package) in sources.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError with the cycle


def test_a_planted_cycle_is_found():
    graph = {"cells.a": {"cells.b"}, "cells.b": {"cells.a"}}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()


def global_statements(sources):
    """(module, line) of every `global` statement: run state lives in a RunState
    (conformance/judge/run_state.py), process caches in functools.cache."""
    return sorted((module, node.lineno) for module, (source, _) in sources.items()
                  for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Global))


def test_no_module_keeps_state_in_a_global_statement():
    assert not global_statements(repository_sources())


def test_a_planted_global_statement_is_found():
    assert global_statements({"conformance.judge.checks": ("def f():\n    global x\n    x = 1\n", False)})


def test_the_command_never_imports_the_pytest_side():
    """The command starts pytest workers; it shares what it needs with the plugins from below."""
    reaching = sorted((a, b) for a, b in downward_into(repository_sources(), "harness") if wing_of(a) == "command")
    assert not reaching, f"the command imports the pytest side: {reaching}"


def downward_into(sources, wing):
    """(importer, imported module) of every import of a module of `wing` from another wing."""
    for module, (source, is_package) in sources.items():
        for name in imports_of(source, module, is_package, set(sources)):
            if name in sources and wing_of(name) == wing and wing_of(module) != wing:
                yield module, name


def test_a_planted_import_of_the_pytest_side_is_found():
    sources = {"conformance.command.run_command": ("from conformance.plugin import x\n", False), "conformance.plugin": ("", False)}
    assert list(downward_into(sources, "harness")) == [("conformance.command.run_command", "conformance.plugin")]


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
