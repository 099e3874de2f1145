"""One run, one RunState (conformance/judge/run_state.py, issue 38): what a run counts and
excuses lives in its own state, made current while it runs and gone after, so nothing
one run sets (its ledger, its budget, its observers) reaches the next one in the process."""

from conformance import cli
from conformance.base import limits
from conformance.judge import run_state
from conformance.research.mutants import MUTANTS


def test_a_run_is_current_while_it_runs_and_gone_after():
    outside = run_state.current()
    with run_state.running() as run:
        assert run_state.current() is run and run is not outside
        with run_state.running(run_state.RunState(example_timeout=3)) as inner:
            assert run_state.current() is inner
        assert run_state.current() is run
    assert run_state.current() is outside


def test_two_fresh_runs_are_two_runs():
    first, second = run_state.RunState(), run_state.RunState()
    run_state.begin(first), run_state.begin(second)
    run_state.end(first)
    assert run_state.current() is second  # ended by identity, not by equal fields
    run_state.end(second)


def test_the_mutants_command_in_process_leaves_no_run_behind(capsys):
    """Its hunts run with an empty ledger and their own budget: left current, they would
    have stopped the declared divergences of every later property in the process."""
    before = run_state.current()
    name = next(iter(MUTANTS))
    assert cli.main(["mutants", "--mutants", name, "--max-examples", "3", "--shrink-seconds", "0"]) in (0, 1)
    assert run_state.current() is before
    assert isinstance(before.budget, limits.ShrinkBudget)
