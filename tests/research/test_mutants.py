"""The mutation score: every mutant of the catalog is killed under the `ci` profile.

The catalog (conformance/research/mutants) is the history of recurrent-loop bugs; a suite that let
one of them through would let that bug back in. The correct loop the mutants are made
from must pass every property, or the kills would prove nothing.
"""

import inspect
import json
import subprocess
import sys

import pytest

from conformance.base import limits
from conformance.judge import run_state
from conformance.command import mutants_command
from conformance.research import mutation
from conformance.properties import FUNCTION_MODULES, hypothesis_tests
from conformance.research.mutants import EQUIVALENT, MUTANTS, CorrectLoop, Mutant

CONTRACT_RULES = {f"R{i}" for i in range(1, 15)}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_the_suite_kills_the_mutant(name):
    """At the budgets `CI=true rnn-conformance mutants` gives, shrinking included (a rule is
    named from the failing example: unshrunk, a wrong input next to a mask reads as a
    masked state, R3, where the shrunk example, without the mask, names R2), but cut
    after 1 s instead of the command's 5."""
    with run_state.running(run_state.RunState(budget=limits.ShrinkBudget(1.0))):
        hunt = mutation.hunt(MUTANTS[name], mutants_command.budgets_of("ci"))
    assert hunt.killed, f"{name} ({MUTANTS[name].models}) survived {hunt.examples_run} examples of every property"
    assert hunt.rule in CONTRACT_RULES
    assert hunt.by_its_rule, f"{name} breaks {MUTANTS[name].rule}, but every failure named another rule (first: {hunt.rule})"


def test_a_kill_counts_by_its_rule_only_as_the_contract_names_the_bug():
    """A crash counts for a mutant that declares it shows as one (the contract reports a
    crash under the rule of the property that made the call), and no other."""
    from conformance.judge.assertions import Divergence

    crash = Divergence("R2", "CRASH: ValueError: operands could not be broadcast together")
    crash.crash = "ValueError: operands could not be broadcast together"
    assert mutation.failed_by_its_rule(MUTANTS["mask-tiled-for-rank-2-only"], crash)
    assert not mutation.failed_by_its_rule(MUTANTS["states-not-masked"], crash)
    assert mutation.failed_by_its_rule(MUTANTS["states-not-masked"], Divergence("R3", "differs from the reference"))
    assert mutation.failed_by_its_rule(MUTANTS["single-unrolled-step-loses-time-axis"], Divergence("R5", "shape"))
    assert not mutation.failed_by_its_rule(MUTANTS["single-unrolled-step-loses-time-axis"], Divergence("R2", "values"))


def test_the_correct_loop_survives_every_property(ci_profile_without_shrinking):
    """Control: the loop every mutant changes conforms, so each kill is the mutation's doing."""
    hunt = mutation.hunt(Mutant("correct-loop", "-", "-", "no change", CorrectLoop))
    assert not hunt.killed, hunt.divergence
    assert hunt.examples_run >= 10 * len(mutation.PROPERTY_ORDER)  # (a property stops early once its space is exhausted)


def test_the_catalog_models_at_least_20_bugs_each_with_its_source():
    assert len(MUTANTS) >= 20
    for mutant in MUTANTS.values():
        assert mutant.rule in CONTRACT_RULES, mutant
        assert "#" in mutant.models or mutant.models.startswith(("pattern", "finding")), mutant
        overridden = [n for n, v in vars(mutant.loop).items() if callable(v) and hasattr(CorrectLoop, n)]
        assert issubclass(mutant.loop, CorrectLoop) and overridden, f"{mutant.name} changes nothing in CorrectLoop"
    assert not set(EQUIVALENT) & set(MUTANTS), "an equivalent mutant cannot be killed: it has no place in the catalog"


def test_every_function_level_property_takes_part():
    """The forward mutants are hunted by every forward property, the gradient mutants
    (tests/research/test_gradient_mutants.py) by every gradient property: none is left out."""
    assert set(hypothesis_tests(FUNCTION_MODULES)) == set(mutation.PROPERTY_ORDER) | set(mutation.GRADIENT_PROPERTY_ORDER)
    assert not set(mutation.PROPERTY_ORDER) & set(mutation.GRADIENT_PROPERTY_ORDER)


def test_a_mutant_no_property_kills_survives_and_fails_the_command(monkeypatch, capsys, tmp_path):
    """An equivalent mutant (unroll ignored: R10 makes it the correct loop) survives,
    so the command must say SURVIVED and exit 1."""
    from conformance import cli

    class UnrollIgnored(CorrectLoop):
        def __call__(self, *args, unroll=False, **kwargs):
            return super().__call__(*args, **kwargs)

    monkeypatch.setitem(mutants_command.MUTANTS, "unroll-ignored", Mutant("unroll-ignored", "-", "R10", "-", UnrollIgnored))
    report = tmp_path / "mutants.json"
    status = cli.main(["mutants", "--mutants", "unroll-ignored", "--max-examples", "3", "--report", str(report)])
    out = capsys.readouterr().out
    assert status == 1
    assert "SURVIVED: unroll-ignored" in out and "Mutation score: 0/1 killed (0%)" in out
    assert json.loads(report.read_text())["mutants"][0]["killed"] is False


def _command(*arguments, cwd):
    return subprocess.run([sys.executable, "-m", "conformance", *arguments], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.e2e
def test_the_command_prints_the_table_and_the_score(tmp_path):
    report = tmp_path / "mutants.json"
    pytest.importorskip("torch", reason="NOT INSTALLED: torch (runs the gradient mutants)")
    finished = _command("mutants", "--mutants", "masked-output-from-states0,numeric-mask-ignored,constants-detached",
                        "--report", str(report), "--markdown", str(tmp_path / "mutants.md"), cwd=tmp_path)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Mutation score: 3/3 killed (100%)" in finished.stdout
    assert "examples to kill: median" in finished.stdout
    data = json.loads(report.read_text())
    assert data["schema"] == "rnn-conformance-mutants" and data["profile"] == "ci" and data["score"] == 1
    by_name = {m["name"]: m for m in data["mutants"]}
    assert by_name["masked-output-from-states0"]["rule"] == "R4"
    assert by_name["masked-output-from-states0"]["kind"] == "forward"
    gradient = by_name["constants-detached"]  # one table: the gradient mutants too, by the gradient properties
    assert gradient["kind"] == "gradient" and gradient["rule"] == "G1" and gradient["property"].startswith("test_gradients::")
    assert data["gradient_properties"] == [p.__name__ for p in mutation.GRADIENT_PROPERTY_ORDER]
    numeric = by_name["numeric-mask-ignored"]
    assert numeric["example"]["options"]["mask_format"] != "bool"  # the shrunk example still needs a 0/1 mask
    assert numeric["seconds_to_kill"] >= 0 and numeric["examples_to_kill"] >= 1
    assert "| `numeric-mask-ignored` | keras-team/keras#5867" in (tmp_path / "mutants.md").read_text()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("mutants", "--mutants", "no-such-mutant"), "unknown mutant no-such-mutant"),
        (("mutants", "--backends", "reference"), "--backends does not apply to mutants"),
        (("run", "--mutants", "states-not-masked"), "--mutants applies to the mutants command only"),
    ],
)
@pytest.mark.e2e
def test_usage_errors_are_one_line_and_exit_2(arguments, message, tmp_path):
    finished = _command(*arguments, cwd=tmp_path)
    assert finished.returncode == 2
    assert message in finished.stderr and len(finished.stderr.strip().splitlines()) == 1


def test_the_correct_loop_is_written_apart_from_the_reference():
    """The reference is the yardstick and is never mutated: the loop must not call it."""
    from conformance.research.mutants import loop

    assert "reference" not in inspect.getsource(loop).split('"""', 2)[2]
