"""Saved cases and `python -m conformance.repro`: a bad case file is one line and exit 2,
every divergence keeps its own case, --impl cases print scripts that run from where the
command ran, and a divergence's message names the rule's definition."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from cells.catalog import report_2018_example
from conformance.replay import repro
from conformance.judge.assertions import Divergence
from conformance.backends import get_backend
from conformance.backends.impl import ImplBackend

REPOSITORY = Path(__file__).resolve().parents[2]
KNOWN_CASE = REPOSITORY / "conformance" / "known" / "keras-jax-masked-output-from-states0.json"
NUMPY_RNN = REPOSITORY / "tests" / "impls" / "numpy_rnn.py"


def case(**changes):
    data = json.loads(KNOWN_CASE.read_text())
    data.update(changes)
    return data


def garbage_dtype():
    data = case()
    data["example"]["inputs"][0]["dtype"] = "float13"
    return data


def missing_keys():
    data = case()
    del data["example"]["options"]
    return data


BAD_CASES = {
    "a JSON list": ("[1, 2]", "case: expected a JSON object, got a list"),
    "invalid JSON": ("{not json", "not JSON: Expecting property name enclosed in double quotes"),
    "a garbage dtype": (json.dumps(garbage_dtype()), "example.inputs[0].dtype: 'float13', expected 'float32'"),
    "missing keys": (json.dumps(missing_keys()), "example: missing options"),
    "an unknown backend": (json.dumps(case(backend="keras-cobol")), "unknown backend 'keras-cobol'"),
    "a mode the backend lacks": (json.dumps(case(mode="xla")), "mode: keras-jax has no mode 'xla'"),
    "a layer example on a function backend": (
        (REPOSITORY / "conformance" / "known" / "layer-keras-jax-masked-output-from-states0.json").read_text().replace(
            '"layer-keras-jax"', '"keras-jax"').replace('"call"', '"eager"'), "example: not an example of a function backend"),
    "an --impl target that is not MODULE:FUNC": (json.dumps(case(backend="impl:os.system('x'):rnn", impl_ops="numpy")),
                                                 "backend: \"os.system('x'):rnn\" is not MODULE:FUNCTION"),
    "an --impl case without its array library": (json.dumps(case(backend="impl:myrnn:rnn")), "impl_ops: missing"),
}


@pytest.mark.parametrize("text, message", BAD_CASES.values(), ids=BAD_CASES)
def test_a_bad_case_is_one_line_and_exit_2(text, message, tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(text)
    assert repro.main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"rnn-conformance: cannot read case {path}: {message}"), err


@pytest.mark.e2e
def test_a_missing_case_file_and_a_subprocess_run_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "list.json").write_text("[]")
    for name, message in (("missing.json", "No such file or directory"), ("list.json", "expected a JSON object")):
        result = subprocess.run([sys.executable, "-m", "conformance.replay.repro", name], capture_output=True, text=True,
                                cwd=tmp_path, timeout=120)
        assert result.returncode == 2 and result.stdout == "", result.stderr
        assert result.stderr == f"rnn-conformance: cannot read case {name}: " + result.stderr.split(": ", 2)[2]
        assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def divergence(example, rule="R4", crash=None, backend=None, mode="eager"):
    """A Divergence as a property raises it, with what the plugin adds before saving it."""
    target = SimpleNamespace(backend=backend or get_backend("keras-jax"), mode=mode)
    found = Divergence(rule, f"CRASH: {crash}" if crash else "differs from the reference", example=example, target=target)
    found.crash, found.property = crash, "test_agreement::test_agrees_with_reference"
    return found


def test_a_crash_and_a_failure_of_one_rule_keep_their_own_cases(tmp_path):
    example = report_2018_example()
    failing, crashing = divergence(example), divergence(example, crash="ValueError: boom")
    other = divergence(report_2018_example(go_backwards=True))
    paths = [repro.save_case(d, tmp_path) for d in (failing, crashing, other)]
    assert len(set(paths)) == 3, paths
    assert paths[0].name == "keras-jax-eager-test_agreement-test_agrees_with_reference-R4-fail.json"
    assert paths[1].name == "keras-jax-eager-test_agreement-test_agrees_with_reference-R4-crash.json"
    assert paths[2].name.startswith("keras-jax-eager-test_agreement-test_agrees_with_reference-R4-fail-")
    summaries = [json.loads(p.read_text())["summary"] for p in paths]
    assert summaries == ["differs from the reference", "CRASH: ValueError: boom", "differs from the reference"]
    assert json.loads(paths[2].read_text())["example"]["options"]["go_backwards"] is True
    scripts = [repro.save_reproducer(d, p) for d, p in zip((failing, crashing, other), paths)]
    assert len(set(scripts)) == 3 and all(s.exists() for s in scripts)  # each beside its own case
    assert repro.save_case(failing, tmp_path) == paths[0]  # the same divergence again: the same file


@pytest.mark.e2e
def test_an_impl_case_prints_a_script_that_runs_from_where_the_command_ran(tmp_path):
    """The case records the array library; the command rebuilds the backend without
    importing the loop; the script finds the loop's module from the current directory
    (the reproducer lives in rnn-conformance-repros/, as the plugin saves it)."""
    shutil.copy(NUMPY_RNN, tmp_path / "numpy_rnn.py")
    backend = ImplBackend("numpy_rnn:rnn", "numpy")
    saved = repro.save_case(divergence(report_2018_example(), backend=backend), tmp_path / "rnn-conformance-repros")
    assert json.loads(saved.read_text())["impl_ops"] == "numpy"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    printed = subprocess.run([sys.executable, "-m", "conformance.replay.repro", str(saved.relative_to(tmp_path))],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert "rnn = getattr(importlib.import_module('numpy_rnn'), 'rnn')" in printed.stdout
    script = saved.with_suffix(".py")
    script.write_text(printed.stdout)
    result = subprocess.run([sys.executable, str(script.relative_to(tmp_path))], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "outputs: agrees" in result.stdout and "new_states: agrees" in result.stdout


def test_the_command_does_not_import_the_loop_of_an_impl_case(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case(backend="impl:no_such_module_anywhere.sub:rnn", impl_ops="numpy", mode="eager")))
    assert repro.main([str(path)]) == 0, capsys.readouterr().err
    assert "no_such_module_anywhere" not in sys.modules
    assert "importlib.import_module('no_such_module_anywhere.sub'), 'rnn')" in capsys.readouterr().out


def test_a_divergence_names_where_its_rule_is_defined():
    message = str(divergence(report_2018_example(), rule="R4"))
    assert "The rule: CONTRACT.md, rule R4" in message.splitlines()
    contract = REPOSITORY / "CONTRACT.md"
    if contract.exists():  # written by another part of the project: the heading it points at
        assert any(line.startswith("### R4") for line in contract.read_text().splitlines())
