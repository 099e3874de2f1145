"""The import paths of the modules that moved into wings (issue 38), for one release.

A reproducer or a script written against the flat package (`from conformance import
checks`, `conformance.layer_reference`) keeps working: the old name is the moved module
itself (one module object, one state), with a DeprecationWarning naming the new path.
importlib's documented hook (a finder on sys.meta_path) does this, so no module file is
left behind per old name.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# old name under conformance -> the module it now is, under conformance. (`known` and
# `results` are wings now, `repro` the face of `python -m conformance.repro`: those names
# are found before this finder is asked.)
MOVED = {
    "areas": "results.areas",
    "assertions": "judge.assertions",
    "budgets": "base.budgets",
    "cell_author_notes": "command.cell_author_notes",
    "checks": "judge.checks",
    "code_versions": "base.code_versions",
    "coverage": "judge.coverage",
    "covering": "harness.covering",
    "delegation": "base.delegation",
    "environments": "base.environments",
    "facts": "known.facts",
    "function_script": "replay.function_script",
    "gradient_assertions": "judge.gradient_assertions",
    "gradient_reference": "contract.gradient_reference",
    "gradient_replay": "replay.gradient_replay",
    "gradient_script": "replay.gradient_script",
    "gradients": "contract.gradients",
    "history": "research.history",
    "impl_probe": "command.impl_probe",
    "known_cells": "known.known_cells",
    "known_conditions": "known.known_conditions",
    "known_replay": "replay.known_replay",
    "known_update": "command.known_update",
    "layer_gradient_checks": "judge.layer_gradient_checks",
    "layer_gradient_reference": "contract.layer_gradient_reference",
    "layer_reference": "contract.layer_reference",
    "layers": "backends.layer_worker",
    "ledger_plugin": "harness.ledger_plugin",
    "limits": "base.limits",
    "list_command": "command.list_command",
    "matrix": "results.matrix",
    "merge_command": "command.merge_command",
    "mutants": "research.mutants",
    "mutants_command": "command.mutants_command",
    "mutation": "research.mutation",
    "openvino_script": "replay.openvino_script",
    "output_paths": "base.output_paths",
    "profiles": "base.profiles",
    "progress": "harness.progress",
    "reference": "contract.reference",
    "releases": "research.releases",
    "report": "results.report",
    "run_command": "command.run_command",
    "runs": "judge.runs",
    "seen": "harness.seen",
    "soak_command": "command.soak_command",
    "soak_report": "research.soak_report",
    "stack_checks": "judge.stack_checks",
    "targets": "judge.targets",
    "test_agreement": "properties.test_agreement",
    "test_environments": "properties.test_environments",
    "test_gradients": "properties.test_gradients",
    "test_hints": "properties.test_hints",
    "test_known_divergences": "properties.test_known_divergences",
    "test_layer": "properties.test_layer",
    "test_layer_gradients": "properties.test_layer_gradients",
    "test_layer_stacks": "properties.test_layer_stacks",
    "test_layout": "properties.test_layout",
    "test_masking": "properties.test_masking",
    "test_structure": "properties.test_structure",
    "test_user_cell": "properties.test_user_cell",
    "triage": "research.triage",
    "usage": "base.usage",
    "user_cell_command": "command.user_cell_command",
    "user_cell_plugin": "harness.user_cell_plugin",
    "user_cell_reference": "contract.user_cell_reference",
    "workers": "command.workers",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new_name):
        self.new_name = new_name

    def create_module(self, spec):
        warnings.warn(f"{spec.name} moved to {self.new_name}; the old path goes in the next release",
                      DeprecationWarning, stacklevel=3)
        return importlib.import_module(self.new_name)

    def exec_module(self, module):
        pass  # the moved module has run already


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds `conformance.<old>[.sub]` for every old name of MOVED."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, rest = fullname.partition(".")
        if prefix != "conformance" or not rest:
            return None
        old, _, sub = rest.partition(".")
        if old not in MOVED:
            return None
        new_name = "conformance." + MOVED[old] + ("." + sub if sub else "")
        return importlib.util.spec_from_loader(fullname, _Alias(new_name))


def install():
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())  # before any finder of an old file left on the path
