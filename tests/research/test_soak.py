"""`rnn-conformance soak`, run for real: a loop with two planted root causes gives exactly
two groups, each with a condition that covers its members; the correct loop gives none;
bad input is one line and exit status 2."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.known import ledger as known
from conformance.research import soak_report
from conformance.research import triage

REPOSITORY = Path(__file__).resolve().parents[2]
IMPLS = REPOSITORY / "tests" / "impls"
# Two seeds of a small budget: the planted crashes are common (any go_backwards example
# with a mask; any unrolled example of 3 steps or more), so every seed meets both.
SMALL = ["--seeds", "2", "--first-seed", "11", "--max-examples", "10", "--shrink-seconds", "1", "--jobs", "1"]


def soak(*args, cwd):
    return subprocess.run([sys.executable, "-m", "conformance", "soak", *args], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


@pytest.fixture
def here(tmp_path):
    for name in ("numpy_rnn.py", "planted_rnn.py"):
        shutil.copy(IMPLS / name, tmp_path / name)
    return tmp_path


@pytest.mark.e2e
def test_two_planted_root_causes_are_exactly_two_groups_each_with_a_covering_condition(here):
    result = soak("--impl", "planted_rnn:rnn", *SMALL, "--report", "soak.json", "--markdown", "soak.md", cwd=here)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((here / "soak.json").read_text())
    assert report["seeds"] == [11, 12] and report["profile"] == "dev"
    groups = {g["shows_as"].split(":")[2].strip(): g for g in report["groups"]}
    assert sorted(groups) == ["planted A", "planted B"], [g["shows_as"] for g in report["groups"]]
    assert groups["planted A"]["shows_as"] == "crash: ValueError: planted A: cannot reverse a mask of N steps"
    for name, group in groups.items():
        condition = group["condition"]
        assert condition["proposed"] is not None, condition  # it separates the group from what passed
        assert condition["passing_seen"] > 0
        code = known._compile_condition(condition["proposed"], name)  # the known-divergence grammar
        members = member_facts(report, group, here)
        assert members and all(eval(code, {"__builtins__": {}}, f) for f in members)  # noqa: S307
        assert group["seeds"] == [11, 12]
        assert (here / group["smallest"]["case"]).exists() and (here / group["smallest"]["reproducer"]).exists()
    # What the planted faults need appears in the proposals: A needs a mask under go_backwards,
    # B an unrolled loop (of 3 steps or more).
    assert {"go_backwards", "mask"} <= set(groups["planted A"]["condition"]["tightest"].split())
    assert "unroll" in groups["planted B"]["condition"]["tightest"].split()
    text = (here / "soak.md").read_text()
    assert "## Undeclared failures: 2 groups" in text and "rnn-conformance run --impl planted_rnn:rnn --profile dev --seed" in text
    assert "groups of undeclared failures, 0 other problems over 2 seeds (exit status 1)" in result.stdout
    assert "seed 11 (1/2)" in result.stdout
    examples = report["examples"]["impl:planted_rnn:rnn"]["eager"]["examples"]
    assert examples > 100


def member_facts(report, group, here):
    """The facts of every failure of the group, read back from the seeds' own reports."""
    found = []
    for run in report["runs"]:
        seed_report = json.loads((here / run["report"]).read_text())
        found += [m["facts"] for m in triage.members_of(seed_report, run["seed"]) if m["signature"] == group["shows_as"]]
    return found


@pytest.mark.e2e
def test_the_correct_loop_gives_no_group_and_counts_its_examples(here):
    result = soak("--impl", "numpy_rnn:rnn", *SMALL, "--report", "soak.json", cwd=here)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((here / "soak.json").read_text())
    assert report["groups"] == [] and report["errors"] == [] and report["exit_status"] == 0
    assert report["examples"]["impl:numpy_rnn:rnn"]["eager"]["examples"] > 100
    assert "soak: no undeclared failure over 2 seeds (exit status 0)" in result.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--profile", "ci"], "argument --profile: invalid choice: 'ci'"),
    (["--seeds", "0"], "argument --seeds: must be at least 1"),
    (["--seed", "3"], "--seed does not apply to soak"),  # not taken as --seeds by its prefix
    (["--backends", "nope"], "unknown backend 'nope'"),
    (["--cell", "x:Y"], "--cell does not apply to soak"),
    (["--report", "/proc/no/soak.json"], "--report"),
])
@pytest.mark.e2e
def test_bad_input_is_one_line_and_exit_2(arguments, message, tmp_path):
    result = soak(*arguments, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.parametrize(("count", "text"), [(1, "1 seed"), (2, "2 seeds"), (0, "0 seeds")])
def test_the_verdict_counts_seeds_in_words(count, text):
    soak = {"seeds": list(range(count)), "groups": [], "not_reproduced": [], "errors": [], "exit_status": 0}
    assert soak_report.verdict(soak) == f"soak: no undeclared failure over {text} (exit status 0)"
