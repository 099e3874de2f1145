"""Declared divergences are checked both ways, end to end, on a faulty NumPy loop:

- undeclared, the divergence fails the run and the suite saves its minimal example;
- declared (with that saved example), the same run passes and the entry is replayed;
- the entry removed again, the run fails again;
- an entry for a divergence that does not exist fails the run;
- a malformed file is a one-line usage error.
"""

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from conformance.known.ledger import KnownDivergenceError, load

MUTANT_CONFTEST = """
from conformance.backends import BACKENDS
from conformance.backends.numpy_function import NumpyFunctionBackend
from conformance.research.mutants import MUTANTS

BACKENDS["mutant-dtype"] = NumpyFunctionBackend("mutant-dtype", MUTANTS["states-change-dtype"].rnn)
"""

PROPERTY = "test_structure::test_shapes_and_dtypes"
KNOWN_DIR = Path(__file__).resolve().parents[2] / "conformance" / "known"


def entry(backend="mutant-dtype", condition="states > 0", rule="R13", example="case.json", **extra):
    fields = dict(
        id=f"{backend}-states-dtype",
        backend=backend,
        package="numpy",
        versions=">=1.0",
        modes=["eager"],
        condition=condition,
        rule=rule,
        property=PROPERTY,
        reason="new states come back in another dtype",
        example=example,
        **extra,
    )
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in fields.items())
    return f"[[divergence]]\n{body}\n"


@pytest.fixture
def run(pytester):
    pytester.makeconftest(MUTANT_CONFTEST)

    def run_suite(*args):
        return pytester.runpytest_subprocess(
            "--pyargs", "conformance", "-p", "conformance.plugin", "-p", "no:cacheprovider",
            "-k", "test_shapes_and_dtypes or test_known_divergence", "--hypothesis-profile", "ci", *args,
        )

    return run_suite


@pytest.mark.e2e
def test_declaring_and_removing_a_divergence(run, pytester):
    known = pytester.path / "known"
    known.mkdir()
    empty = known / "empty.toml"
    empty.write_text("")

    undeclared = run("--backends", "mutant-dtype", "--known-divergences", str(empty), "--repro-dir", "repros")
    undeclared.assert_outcomes(failed=1, skipped=1)  # the property fails; no entries to replay
    saved = sorted((pytester.path / "repros").glob("*.json"))
    assert len(saved) == 1
    shutil.copy(saved[0], known / "case.json")

    declared = known / "declared.toml"
    declared.write_text(entry())
    passing = run("--backends", "mutant-dtype", "--known-divergences", str(declared))
    passing.assert_outcomes(passed=2)  # property excused + entry replayed
    passing.stdout.fnmatch_lines(["*declared divergences met (examples excused per mode)*", "*mutant-dtype-states-dtype on mutant-dtype: eager * excused*"])

    removed = run("--backends", "mutant-dtype", "--known-divergences", str(empty))
    removed.assert_outcomes(failed=1, skipped=1)


@pytest.mark.e2e
def test_a_divergence_that_does_not_exist_fails_the_run(run, pytester):
    known = pytester.path / "known"
    known.mkdir()
    empty = known / "empty.toml"
    empty.write_text("")
    run("--backends", "mutant-dtype", "--known-divergences", str(empty), "--repro-dir", "repros")
    shutil.copy(next((pytester.path / "repros").glob("*.json")), known / "case.json")

    bogus = known / "bogus.toml"
    bogus.write_text(entry(backend="reference"))  # the reference does not diverge
    result = run("--backends", "reference", "--known-divergences", str(bogus))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FIXED: reference-states-dtype: its case agrees with the reference on numpy *"])


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[divergence]]\nid = 'x'\n", "*entry 'x' lacks backend*"),
        (entry(condition="states > 0 and __import__('os')"), "*condition*uses Call*"),
        (entry(condition="no_such_fact"), "*unknown fact 'no_such_fact'*"),
        (entry(versions_typo="1"), "*unknown keys versions_typo*"),
        (entry(shows_as=["crash:no space"]), "*shows_as must be a list of rule ids*"),
        ("not toml [", "*cannot read known divergences*"),
        (entry(example="no-such-case.json"), "*entry 'mutant-dtype-states-dtype': cannot read its case *no-such-case.json: No such file*"),
        (entry(example="invalid.json"), "*entry 'mutant-dtype-states-dtype': cannot read its case *invalid.json: case: expected a JSON object*"),
        (entry(example="garbage.json"), "*entry 'mutant-dtype-states-dtype': cannot read its case *garbage.json: not JSON*"),
    ],
)
@pytest.mark.e2e
def test_malformed_file_is_a_one_line_usage_error(run, pytester, content, message):
    (pytester.path / "invalid.json").write_text("[1, 2]")
    (pytester.path / "garbage.json").write_text("{")
    bad = pytester.path / "bad.toml"
    bad.write_text(textwrap.dedent(content))
    result = run("--backends", "mutant-dtype", "--known-divergences", str(bad))  # the backend of the entries
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str()


def test_an_entry_whose_case_is_invalid_is_refused_when_loaded(tmp_path):
    """known.load checks each entry's case file (cells/case_schema.py), naming both."""
    case = json.loads((KNOWN_DIR / "keras-jax-masked-output-from-states0.json").read_text())
    case["example"]["options"]["unroll"] = "__import__('os').system('x')"
    (tmp_path / "case.json").write_text(json.dumps(case))
    (tmp_path / "known.toml").write_text(entry())
    with pytest.raises(KnownDivergenceError, match=r"entry 'mutant-dtype-states-dtype': cannot read its case .*case\.json: "
                                                   r"example\.options\.unroll: expected true or false"):
        load(tmp_path / "known.toml")
