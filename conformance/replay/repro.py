"""Saving and replaying a property failure: the minimal example as a JSON case file.

A failing property writes its shrunk example here; a known divergence points at such a
file; `test_known_divergences.py` replays it through the same property body. "example" is
what the property was given (replaying needs it); for a metamorphic property the run that
diverged may be a variant of it, saved as "diverging_example" for reading. A case is
read back only through cells/case_schema.py: it is data, never code.
"""

import contextlib
import copy
import hashlib
import importlib
import json
import os
import re
import sys
from pathlib import Path

from conformance.backends.base import LAYER_LEVELS
from cells.case_fields import short_path
from cells.case_schema import IMPL_PREFIX, CaseError, read_case
from cells.serialize import example_from_dict, example_to_dict
from cells.user_cell import is_user_cell
from conformance.judge.assertions import compare
from conformance.backends import UnknownBackend, get_backend
from conformance.backends.impl import ImplBackend, ImplError
from conformance.backends.layer_worker.client import WorkerCrash, WorkerFailure
from conformance.backends.layer_worker import remote_reference  # noqa: F401 (a user-cell case's expected values are computed in a worker)
from conformance.replay.function_script import function_script
from conformance.replay.gradient_script import gradient_script, is_replayed_property
from conformance.known.known_cells import is_known_cell
from conformance.contract.layer_reference import layer_source
from conformance.judge.runs import expected
from conformance.judge import run_state

DEFAULT_DIR = Path("rnn-conformance-repros")
_SAVED = {}  # case path -> the text save_case wrote there in this run


def save_case(divergence, directory=DEFAULT_DIR):
    """Write the divergence's minimal example and property; return the path.

    The name says backend, mode, property, rule and whether it crashed or failed; a
    second, different divergence of that name in the same run gets its own file (a short
    hash of its content added), so no divergence overwrites another's case."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = divergence.target
    outcome = "crash" if divergence.crash is not None else "fail"
    name = f"{target.backend.name}-{target.mode}-{divergence.property}-{divergence.rule}-{outcome}"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    case = {
        "backend": target.backend.name,
        "mode": target.mode,
        "property": divergence.property,
        "rule": divergence.rule,
        "summary": divergence.summary,
        "drawn": getattr(divergence, "drawn", {}),
        "example": example_to_dict(getattr(divergence, "property_input", divergence.example)),
    }
    if getattr(divergence, "property_input", divergence.example) is not divergence.example:
        case["diverging_example"] = example_to_dict(divergence.example)
    if hasattr(target.backend, "impl_target"):  # what the reproducer needs to rebuild an --impl backend
        case["impl_ops"] = target.backend.ops
    text = json.dumps(case, indent=1) + "\n"
    path = directory / f"{name}.json"
    if _SAVED.get(path.resolve(), text) != text:
        path = directory / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:8]}.json"
    path.write_text(text)
    _SAVED[path.resolve()] = text
    return path


def save_reproducer(divergence, case_path):
    """Write the standalone script of a saved case beside it (CASE.py); return its path."""
    script = Path(case_path).with_suffix(".py")
    target = divergence.target
    if is_replayed_property(getattr(divergence, "property", None)):  # section 5, L9: the property replayed
        script.write_text(case_script(read_case(case_path)))
        return script
    script.write_text(divergence_source(_run_against_the_contract(divergence), target.backend, target.mode))
    return script


def _run_against_the_contract(divergence):
    """The run to reproduce: a metamorphic property compared two runs of the backend, and
    the script compares one run with the contract, so pick a run that differs from it."""
    if len(divergence.runs) < 2 or getattr(divergence.target.backend, "level", None) in LAYER_LEVELS:
        return divergence.example  # (a layer script runs every mask route itself)
    for run in divergence.runs:
        try:
            if compare(divergence.target.backend.run(run, divergence.target.mode), expected(run), run):
                return run
        except Exception:  # noqa: BLE001 - a crashing run is a diverging run
            return run
    return divergence.example


def divergence_source(example, backend, mode, title=None, contract=None):
    """A standalone script that runs the example on the backend in that mode, prints its
    results next to the contract's, and exits 1 while they differ: a Keras script for a
    layer row (cells/keras_script.py), a NumPy + framework one for a function row
    (conformance/replay/function_script.py). `contract`: the values to expect, when already
    known (a Result, or the layer's list of arrays); by default the reference's."""
    if getattr(backend, "level", None) in LAYER_LEVELS:
        return layer_source(example, backend, mode, title, contract)
    return function_script(example, backend, mode, expected(example) if contract is None else contract, title=title)


def load_case(path):
    """(property body, example, drawn) of a saved case; CaseError when it is not one."""
    case = read_case(path)
    example = example_from_dict(case["example"])
    with case_cell(example):  # a user-cell case: the properties' module reads its cell on import
        body = property_body(case["property"])
    return body, example, case["drawn"]


@contextlib.contextmanager
def case_cell(example):
    """While importing the properties' module to replay a saved case: the module reads the
    run's cell (its RunState's `user_cell`) as it is imported, so outside a --cell run that
    is the case's cell (a declared divergence's, conformance/known/known_cells)."""
    state = run_state.current()
    before = state.user_cell
    if before is None and is_user_cell(example.spec.structure):
        state.user_cell = example.spec.structure
    try:
        yield
    finally:
        state.user_cell = before


def property_body(property_id):
    """The undecorated body of a property named "module::function" (no Hypothesis, no excusing)."""
    module_name, function_name = property_id.split("::")
    try:
        if not module_name.startswith("test_") or not module_name.isidentifier():
            raise ImportError(module_name)  # only a module of the properties wing
        function = getattr(importlib.import_module(f"conformance.properties.{module_name}"), function_name)
        return function.hypothesis.inner_test.__wrapped__
    except (ImportError, AttributeError):
        raise CaseError(f"property: {property_id!r} is not a property of the suite") from None


def case_backend(case):
    """The backend a validated case names: a registered one, or an --impl loop rebuilt
    from the case (its module is not imported: the reproducer only names it)."""
    name = case["backend"]
    try:
        if name.startswith(IMPL_PREFIX):
            backend = ImplBackend(name[len(IMPL_PREFIX):], case["impl_ops"])
        else:
            backend = get_backend(name)
    except (UnknownBackend, ImplError) as error:
        raise CaseError(str(error)) from None
    if case["mode"] not in backend.modes:
        raise CaseError(f"mode: {name} has no mode {case['mode']!r}; modes: {', '.join(backend.modes)}")
    return backend


def case_source(path, contract=None):
    """The reproducer script of a saved case file (see `divergence_source`)."""
    return case_script(read_case(path), contract)


def case_script(case, contract=None, cell=None):
    """The reproducer script of a validated case (cells/case_schema.py). A user-cell case
    (--cell) needs `cell` naming its class, unless that is one of the suite's own."""
    backend = case_backend(case)
    case = user_cell_consent(case, cell)
    example = example_from_dict(case.get("diverging_example", case["example"]))
    if (getattr(backend, "level", None) in LAYER_LEVELS) != hasattr(example, "layer"):
        raise CaseError(f"example: not an example of a {getattr(backend, 'level', 'function')} backend such as {case['backend']}")
    title = f"{case['backend']} [{case['mode']}], {case['property']}: [{case['rule']}] {case['summary']}"
    if is_replayed_property(case["property"]) and contract is None:
        return gradient_script(case, title)
    return divergence_source(example, backend, case["mode"], title, contract)


def user_cell_consent(case, cell):
    """The case, for a user-cell case only when `cell` (--cell) names its class: the
    expected values come from running that cell's `call`, and a case is data, so its own
    word is never enough to import anything. The class is then imported from the current
    directory, as a --cell run does, never from the directory the case records. The
    suite's own cells (conformance/known/known_cells: declared divergences) need no --cell and
    are imported from the suite."""
    target = case["example"]["structure"].get("user_cell", {}).get("target")
    if target is None:
        return case
    if cell is None and is_known_cell(target):
        search_path = ""
    elif cell == target:
        search_path = os.getcwd()
    else:
        raise CaseError(f"this is a case of a user's cell, {target}, and its expected values come from running that cell: "
                        f"to allow it, name it: python -m conformance.repro CASE.json --cell {target}")
    case = copy.deepcopy(case)
    for example in (case["example"], case.get("diverging_example", case["example"])):
        for structure in [example["structure"]] + [spec["structure"] for spec in example["stacked"]]:
            structure["user_cell"]["search_path"] = search_path
    return case


def main(argv=None):
    """python -m conformance.repro CASE.json [--cell MODULE:CLASS]: print the case's reproducer script.

    Exit 2 with one line when the case cannot be read (not JSON, not a valid case, an
    unknown backend, an option the backend lacks, a user's cell not named by --cell)."""
    arguments = sys.argv[1:] if argv is None else argv
    cell = None
    if len(arguments) == 3 and arguments[1] == "--cell":
        arguments, cell = arguments[:1], arguments[2]
    if len(arguments) != 1 or arguments[0].startswith("-"):
        print("usage: python -m conformance.repro CASE.json [--cell MODULE:CLASS]", file=sys.stderr)
        return 2
    try:
        source = case_script(read_case(arguments[0]), cell=cell)
    except (OSError, ValueError) as error:  # CaseError is a ValueError; so are a script's refusals
        print(f"rnn-conformance: cannot read case {short_path(arguments[0])}: {' '.join(str(error).split())[:300]}", file=sys.stderr)
        return 2
    except (WorkerCrash, WorkerFailure) as error:  # the case's cell, built where it runs, failed there
        print(f"rnn-conformance: cannot replay case {short_path(arguments[0])}: its cell fails where the reference runs it: "
              f"{error.crash_text[:300]}", file=sys.stderr)
        return 2
    print(source, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
