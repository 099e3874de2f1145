"""The names a known-divergence file may use: the suite's backends with their modes, and
its property ids (conformance/known/entry_schema.py checks each entry against them).

The property ids are read from the property modules' source (module-level `test_*`
functions), not imported: the run command checks a known file before any worker starts,
and the properties wing sits above this one.
"""

import ast
from pathlib import Path

from conformance.backends import BACKENDS
from conformance.backends.impl import ImplBackend
from conformance.known.entry_schema import Vocabulary

PROPERTIES_DIR = Path(__file__).resolve().parents[1] / "properties"


def property_ids(directory=PROPERTIES_DIR):
    """"module::function" of every module-level test_* function of the property modules."""
    ids = set()
    for path in sorted(directory.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                ids.add(f"{path.stem}::{node.name}")
    return frozenset(ids)


def vocabulary(impl_names=()):
    """The Vocabulary of this installation; `impl_names`: the --impl backends of this run."""
    backends = {name: tuple(backend.modes) for name, backend in BACKENDS.items()}
    backends.update({name: tuple(ImplBackend.modes) for name in impl_names})
    return Vocabulary(backends=backends, properties=property_ids())
