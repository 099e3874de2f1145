"""Saving and replaying a property failure: the minimal example as a JSON case file.

A failing property writes its shrunk example here; a known divergence points at such a
file; `test_known_divergences.py` replays it through the same property body. "example" is
what the property was given (replaying needs it); for a metamorphic property the run that
diverged may be a variant of it, saved as "diverging_example" for reading.
"""

import importlib
import json
import re
from pathlib import Path

from cells.serialize import example_from_dict, example_to_dict

DEFAULT_DIR = Path("rnn-conformance-repros")


def save_case(divergence, directory=DEFAULT_DIR):
    """Write the divergence's minimal example and property; return the path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = divergence.target
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{target.backend.name}-{target.mode}-{divergence.property}-{divergence.rule}")
    path = directory / f"{name}.json"
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
    path.write_text(json.dumps(case, indent=1) + "\n")
    return path


def save_reproducer(divergence, case_path):
    """Write the standalone script of a saved case beside it (CASE.py); return its path."""
    script = Path(case_path).with_suffix(".py")
    target = divergence.target
    script.write_text(divergence_source(_run_against_the_contract(divergence), target.backend, target.mode))
    return script


def _run_against_the_contract(divergence):
    """The run to reproduce: a metamorphic property compared two runs of the backend, and
    the script compares one run with the contract, so pick a run that differs from it."""
    if len(divergence.runs) < 2 or getattr(divergence.target.backend, "level", None) == "layer":
        return divergence.example  # (a layer script runs every mask route itself)
    from conformance.assertions import compare
    from conformance.runs import expected

    for run in divergence.runs:
        try:
            if compare(divergence.target.backend.run(run, divergence.target.mode), expected(run), run):
                return run
        except Exception:  # noqa: BLE001 - a crashing run is a diverging run
            return run
    return divergence.example


def divergence_source(example, backend, mode, title=None):
    """A standalone script that runs the example on the backend in that mode, prints its
    results next to the contract's, and exits 1 while they differ: a Keras script for a
    layer row (cells/keras_script.py), a NumPy + framework one for a function row
    (conformance/function_script.py)."""
    if getattr(backend, "level", None) == "layer":
        from conformance.layer_reference import layer_outputs

        keras_backend = getattr(backend, "keras_backend", None)
        flavor = getattr(backend, "flavor", "keras3")
        return example.to_source(flavor, mode, layer_outputs(example), title, keras_backend)
    from conformance.backends import get_backend
    from conformance.function_script import function_script

    return function_script(example, backend, mode, get_backend("reference").run(example, "eager"), title=title)


def load_case(path):
    """(property body, example, drawn) of a saved case."""
    case = json.loads(Path(path).read_text())
    return property_body(case["property"]), example_from_dict(case["example"]), case["drawn"]


def property_body(property_id):
    """The undecorated body of a property named "module::function" (no Hypothesis, no excusing)."""
    module_name, function_name = property_id.split("::")
    function = getattr(importlib.import_module(f"conformance.{module_name}"), function_name)
    return function.hypothesis.inner_test.__wrapped__


def case_source(path):
    """The reproducer script of a saved case (see `divergence_source`)."""
    from conformance.backends import get_backend

    case = json.loads(Path(path).read_text())
    example = example_from_dict(case.get("diverging_example", case["example"]))
    title = f"{case['backend']} [{case['mode']}], {case['property']}: [{case['rule']}] {case['summary']}"
    return divergence_source(example, get_backend(case["backend"]), case["mode"], title)


def main(argv=None):
    """python -m conformance.repro CASE.json: print the case's reproducer script."""
    import sys

    paths = sys.argv[1:] if argv is None else argv
    if len(paths) != 1:
        print("usage: python -m conformance.repro CASE.json", file=sys.stderr)
        return 2
    try:
        print(case_source(paths[0]), end="")
    except (OSError, ValueError, KeyError) as error:
        print(f"rnn-conformance: cannot read case {paths[0]}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
