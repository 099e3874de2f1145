"""A saved case is data, never code: Hypothesis mutates the real case files (function and
layer ones, and an --impl one) at any depth, with strings, code, nested junk, huge and
negative numbers, wrong dtypes, lists where scalars go, missing and unknown keys. Each
mutant is either refused with one CaseError line, or rendered into a script in which
nothing from the case is code: every identifier of the script is one the renderers
write themselves, never a string of the case (other than the fixed dtype and activation
names). Only rendering runs here (the contract's values are fixed), no backend.
"""

import ast
import contextlib
import copy
import io
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from cells.case_schema import FIXED_NAMES, CaseError, parse_case
from conformance.backends.base import LAYER_LEVELS
from conformance.contract import layer_reference
from conformance.base import profiles
from conformance.replay import repro
from conformance.backends import BACKENDS
from conformance.backends.base import Result
from conformance.replay.gradient_script import gradient_script

REPOSITORY = Path(__file__).resolve().parents[2]
KNOWN = REPOSITORY / "conformance" / "known"
FUNCTION_RESULT = Result(np.zeros((1, 1), "float32"), np.zeros((1, 1, 1), "float32"), [np.zeros((1, 1), "float32")])
LAYER_RESULT = [np.zeros((1, 1), "float32")]
CI = profiles.settings_for("ci", max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def seeds():
    """Every stored case, plus an --impl case made from a function one."""
    cases = {path.name: json.loads(path.read_text()) for path in sorted(KNOWN.glob("*.json"))}
    impl = copy.deepcopy(cases["keras-numpy-masked-output-from-states0.json"])
    impl.update(backend="impl:tests.impls.numpy_rnn:rnn", impl_ops="numpy")
    cases["impl.json"] = impl
    return cases


SEEDS = seeds()
KINDS = st.sampled_from([n for n in sorted(SEEDS) if "layer" not in SEEDS[n]["example"] and n != "impl.json"]) | st.sampled_from(
    [n for n in sorted(SEEDS) if "layer" in SEEDS[n]["example"]]) | st.just("impl.json")
assert any("layer" in c["example"] for c in SEEDS.values()) and any("layer" not in c["example"] for c in SEEDS.values())


def script(case):
    """The reproducer of a case (already validated), with fixed contract values."""
    layer = "layer" in case["example"]
    return repro.case_script(case, LAYER_RESULT if layer else FUNCTION_RESULT)


def identifiers(tree):
    """Every name the code of a script uses or defines."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.update(filter(None, [*node.name.split("."), node.asname]))
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(node.module.split("."))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
    return found


def template_identifiers():
    """The names the renderers write: those of every seed's script, and of one function
    and one layer seed on every backend and mode (a mutant may name another backend)."""
    found = {"inf", "nan"}  # `from numpy import inf, nan` where the data hold them
    cases = list(SEEDS.values())
    function_seed = SEEDS["keras-numpy-masked-output-from-states0.json"]
    layer_seed = SEEDS["layer-keras-numpy-masked-output-from-states0.json"]
    for backend in BACKENDS.values():
        for mode in backend.modes:
            seed = layer_seed if backend.level in LAYER_LEVELS else function_seed
            cases.append(dict(seed, backend=backend.name, mode=mode))
    for case in cases:
        found |= identifiers(ast.parse(script(parse_case(json.dumps(case)))))
    # A gradient or L7 case's reproducer is one fixed template holding the case as a string.
    found |= identifiers(ast.parse(gradient_script(parse_case(json.dumps(layer_seed)))))
    return frozenset(found)


TEMPLATE = template_identifiers()
GENERATED = re.compile(r"(x|s|c|new_s|out)[0-9]+|Cell[0-9]+(_W)?|cell[0-9]+_step")
FORBIDDEN_CALLS = {"eval", "exec", "__import__", "system", "compile", "popen", "open", "remove", "rmtree"}

CODE = [
    "__import__('os').system('touch pwned')",
    "os.system('x')",
    "exec('import os')",
    "True); __import__('os').system('x'); (",
    "\nimport os\nos.system('x')\n",
    "float32; import os",
    "tanh)\n__import__('os')  #",
    "x\x00y",
    "a\rimport os",
    "'\"\\",
    "impl:os:system",
    "impl:a.b:c d",
    "impl:tests.impls.numpy_rnn:rnn",
]
NAMES = ["float16", "int64", "object", "float32", "float64", "bool", "tanh", "relu", "counter", "echo", "state0",
         "mask-argument", "masking-layer", "", "R4", "L9", "reference", "tensorflow-2018", "layer-tf-keras",
         "layer-keras2-theano", "keras2-theano", "eager", "call", "predict", "xla", "jit", "compiled", "torch"]
SCALARS = st.one_of(
    st.sampled_from(CODE),
    st.sampled_from(CODE),
    st.sampled_from(NAMES),
    st.text(max_size=12),
    st.integers(-(2**70), 2**70),
    st.sampled_from([-1, 0, 1, 2, 3, 10**9, 2**63, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def paths(node, prefix=()):
    """Paths to every field of a case, at any depth (long value lists: their ends only)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, prefix + (key,))
    elif isinstance(node, list):
        indices = range(len(node)) if len(node) <= 3 else (0, len(node) - 1)
        for i in indices:
            found += paths(node[i], prefix + (i,))
    return found


def like(value):
    """A value of the same JSON type (so that some mutants are valid cases and rendered)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-2, 5) | st.sampled_from([2**63, 10**9])
    if isinstance(value, float):
        return st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.5, -1.0, 1e30, 3.5e38])
    if isinstance(value, str):
        return st.sampled_from(CODE + NAMES) | st.text(max_size=12)
    return JUNK


@st.composite
def mutated_cases(draw, same_type=False):
    """A real case with one to three fields replaced (by junk or by a value of the same
    type), removed or added; with `same_type`, only replaced by values of their type
    (such mutants are often valid cases: their scripts are checked)."""
    name = draw(KINDS)  # a function, a layer or an --impl case, then which
    case = copy.deepcopy(SEEDS[name])
    for _ in range(draw(st.integers(1, 3))):
        fields = paths(case)
        if draw(st.booleans()):  # half the time, a field outside the data (what scripts spell out)
            fields = [p for p in fields if "values" not in p and "weights" not in p] or fields
        if same_type:  # scalars only: a value of the same type keeps the case's shape
            fields = [p for p in fields if not isinstance(_at(case, p), (dict, list))]
        path = draw(st.sampled_from(fields))
        *parents, last = path
        parent = case
        for key in parents:
            parent = parent[key]
        action = "same type" if same_type else draw(st.sampled_from(["same type", "replace", "replace", "remove", "add"]))
        if action == "same type":
            parent[last] = draw(like(parent[last]))
        elif action == "remove" and isinstance(parent, dict):
            del parent[last]
        elif action == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(CODE + ["extra", "shape"]))] = draw(JUNK)
        else:
            parent[last] = draw(JUNK)
        if path[0] not in case:  # the case itself lost a top-level field: stop there
            break
    return case


def _at(case, path):
    for key in path:
        case = case[key]
    return case


def strings_of(value):
    """Every string in a nest of dicts and lists (keys included)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value) | {s for v in value.values() for s in strings_of(v)}
    if isinstance(value, list):
        return {s for v in value for s in strings_of(v)}
    return set()


def assert_only_literals(source, case):
    """Nothing of the case is code in the script: it parses, every identifier is one the
    renderers write, no case string (but fixed names) is a name, nothing dangerous is called."""
    tree = ast.parse(source)
    names = identifiers(tree)
    unexpected = {n for n in names if n not in TEMPLATE and not GENERATED.fullmatch(n)}
    assert not unexpected, f"identifiers that no renderer writes: {sorted(unexpected)}"
    from_case = (strings_of(case) & names) - FIXED_NAMES - TEMPLATE
    assert not from_case, f"strings of the case used as names: {sorted(from_case)}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            assert called not in FORBIDDEN_CALLS, f"the script calls {called}"


def one_line_refusal(text):
    return "\n" not in text.strip() and text.startswith("rnn-conformance: cannot read case ")


MUTANTS = st.one_of(mutated_cases(), mutated_cases(same_type=True))


@CI
@given(case=MUTANTS)
def test_a_mutated_case_is_refused_or_rendered_as_literals(case):
    """Function, layer and --impl scripts alike (rendering only)."""
    assert_refused_or_rendered_as_literals(case)


def assert_refused_or_rendered_as_literals(case):
    """The case is refused in one line, or its script holds only literals from it."""
    try:
        source = script(parse_case(json.dumps(case)))
    except CaseError as error:
        assert "\n" not in str(error)
        return
    assert_only_literals(source, case)


@CI
@given(case=MUTANTS)
def test_the_repro_command_refuses_or_prints_literals(case):
    """`python -m conformance.repro CASE.json` in-process (contract values fixed)."""
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "case.json"
        path.write_text(json.dumps(case))
        with (
            mock.patch.object(repro, "expected", lambda example: FUNCTION_RESULT),
            mock.patch.object(layer_reference, "layer_outputs", lambda example: LAYER_RESULT),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            status = repro.main([str(path)])
    if status == 2:
        assert one_line_refusal(err.getvalue()) and not out.getvalue(), err.getvalue()
    else:
        assert status == 0 and not err.getvalue(), err.getvalue()
        assert_only_literals(out.getvalue(), case)


SWEPT = ["keras-numpy-masked-output-from-states0.json", "layer-keras-numpy-masked-output-from-states0.json",
         "layer-tf-keras-bidirectional-forces-zero-output-for-mask.json", "impl.json"]
SWEEP_VALUES = [CODE[0], [CODE[0]], {CODE[0]: CODE[0]}, 2**63, -1, None]


@pytest.mark.parametrize("name", SWEPT)
def test_every_field_replaced_by_code_is_refused_or_a_literal(name):
    """Every field of a function, a layer and an --impl case, one at a time, replaced by
    code and by other wrong values: the sweep that the random mutants sample from."""
    seed = SEEDS[name]
    for path in paths(seed):
        for value in SWEEP_VALUES:
            case = copy.deepcopy(seed)
            *parents, last = path
            _at(case, parents)[last] = value
            assert_refused_or_rendered_as_literals(case)


@pytest.mark.e2e
def test_the_reported_injection_is_refused_in_one_line(tmp_path):
    """The issue's case: `options.unroll` of a layer case set to code, run as a command."""
    case = copy.deepcopy(SEEDS["layer-keras-numpy-masked-output-from-states0.json"])
    case["example"]["options"]["unroll"] = "__import__('os').system('touch pwned')"
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    result = subprocess.run([sys.executable, "-m", "conformance.replay.repro", str(path)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and result.stdout == "", result.stdout + result.stderr
    assert result.stderr == f"rnn-conformance: cannot read case {path}: example.options.unroll: expected true or false, got " \
                            "\"__import__('os').system('touch pwned')\"\n"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_stored_case_is_accepted_and_renders_as_literals(name):
    """The validation refuses none of the suite's own cases."""
    assert_only_literals(script(parse_case(json.dumps(SEEDS[name]))), SEEDS[name])
