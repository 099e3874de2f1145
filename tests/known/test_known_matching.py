"""Which failures a declared divergence excuses: its rule or declared crash, and only where
its condition holds for a run that was compared (fast: no backend needed, but for one saved
case replayed on keras-tensorflow)."""

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from cells.catalog import report_2018_example
from conformance.judge.assertions import Divergence
from conformance.backends import get_backend
from conformance.known.ledger import KnownDivergenceError, Ledger, load
from conformance.replay.repro import load_case
from conformance.judge.targets import Target

CASE = Path(__file__).resolve().parents[2] / "conformance/known/keras-jax-masked-output-from-states0.json"


def declared(tmp_path, **fields):
    entry = dict(
        id="e", backend="reference", package="numpy", versions=">=1", modes=["eager"],
        condition="masked and not unroll", rule="R4", property="p::q", reason="r", example="e.json",
    )
    entry.update(fields)
    # known.load checks that each entry's case file is a valid case: give it a real one.
    shutil.copy(CASE, tmp_path / "e.json")
    path = tmp_path / "known.toml"
    path.write_text("[[divergence]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in entry.items()))
    return load(path)[0]


def divergence(rule="R4", crash=None, runs=None):
    example = report_2018_example(repeats=1)  # masked, unroll=False
    found = Divergence(rule, "differs", example=example)
    found.crash = crash
    if runs is not None:
        found.runs = runs
    return found


def test_rule_entry_excuses_its_rule_only(tmp_path):
    entry = declared(tmp_path)
    assert entry.describes(divergence("R4"))
    assert not entry.describes(divergence("R3"))
    assert not entry.describes(divergence("R4", crash="ValueError: boom"))


def test_shows_as_lists_crashes_and_other_rules(tmp_path):
    entry = declared(tmp_path, shows_as=["R10", "crash: ValueError: bo"])
    assert entry.describes(divergence("R10"))
    assert entry.describes(divergence("R2", crash="ValueError: boom"))
    assert not entry.describes(divergence("R4"))  # the rule itself is no longer listed
    assert not entry.describes(divergence("R2", crash="TypeError: boom"))
    assert declared(tmp_path, shows_as=["crash"]).describes(divergence(crash="TypeError: x"))
    assert declared(tmp_path, shows_as=["any"]).describes(divergence("R13"))


def test_condition_must_hold_for_one_compared_run(tmp_path):
    entry = declared(tmp_path)
    masked = report_2018_example(repeats=1)
    unrolled = masked.changed(options={"unroll": True})
    assert entry.holds_for_any_run(divergence(runs=(unrolled, masked)))
    assert not entry.holds_for_any_run(divergence(runs=(unrolled,)))


def test_a_wrong_output_shape_that_breaks_the_gradient_loss_is_its_forward_entry():
    """keras-tensorflow's unrolled zero_output_for_mask keeps all T steps of `outputs`: the
    gradient properties cannot pair them with L's weights and report a crash ("the
    contract's result has ..."), which the forward entry declares (found by a thorough run)."""
    backend = get_backend("keras-tensorflow")
    if backend.missing_package():
        pytest.skip(f"needs {backend.missing_package()}")
    body, example, drawn = load_case(str(Path(__file__).parents[1] / "cases" / "keras-tensorflow-gradient-of-all-steps-output.json"))
    target = Target(backend, "eager")
    ledger = Ledger(load())
    try:
        body(target=target, example=example, **drawn)
    except Divergence as found:
        assert found.crash is not None and "the contract's result has" in found.crash
        assert ledger.excuse(target, found).id == "keras-tensorflow-unrolled-zero-output-keeps-all-steps"
    else:
        raise AssertionError("the case no longer diverges on keras-tensorflow")


class SometimesWrong:
    """A backend whose compiled function is wrong in the `wrong_build`-th build only (1 = the first)."""

    def __init__(self, wrong_build):
        self.wrong_build, self.builds = wrong_build, 1

    def forget_compiled(self):
        self.builds += 1


def replayed(entry, backend):
    """known_replay.replay over a body that diverges (R4) exactly when the backend's build is wrong."""
    from conformance.replay.known_replay import replay

    def body(target, example):
        if target.backend.builds == target.backend.wrong_build:
            raise divergence("R4")

    return replay(entry, Target(backend, "eager"), body, report_2018_example(repeats=1), {})


def test_an_entry_that_shows_sometimes_replays_on_fresh_builds_until_it_reproduces(tmp_path):
    """`attempts`: a race shows in some compiled functions only; the replay builds afresh
    between attempts and stops at the first that diverges as declared."""
    backend = SometimesWrong(wrong_build=3)
    found = replayed(declared(tmp_path, attempts=5), backend)
    assert found is not None and found.rule == "R4" and backend.builds == 3
    assert replayed(declared(tmp_path, attempts=2), SometimesWrong(wrong_build=3)) is None
    assert replayed(declared(tmp_path), SometimesWrong(wrong_build=2)) is None  # one attempt by default
    assert replayed(declared(tmp_path), SometimesWrong(wrong_build=1)).rule == "R4"


@pytest.mark.parametrize("attempts", [0, 201, 2.5, True, "3"])
def test_attempts_is_a_whole_number_from_1_to_200(tmp_path, attempts):
    with pytest.raises(KnownDivergenceError, match=r"entry 'e': attempts must be a whole number from 1 to 200"):
        declared(tmp_path, attempts=attempts)


class ThreadedSometimesWrong(SometimesWrong):
    """SometimesWrong that records the thread counts its calls ran under."""

    def __init__(self, wrong_build):
        super().__init__(wrong_build)
        self.threads, self.threads_seen = None, []

    @contextmanager
    def tensorflow_threads(self, threads):
        self.threads = threads
        try:
            yield
        finally:
            self.threads = None

    def forget_compiled(self):
        super().forget_compiled()
        self.threads_seen.append(self.threads)


def test_a_race_that_names_tensorflow_threads_replays_every_attempt_under_them(tmp_path):
    """`tensorflow_threads`: more threads make a rare race show more often; every attempt
    runs under them and the backend's usual threads come back after the replay."""
    backend = ThreadedSometimesWrong(wrong_build=3)
    found = replayed(declared(tmp_path, attempts=5, tensorflow_threads=64), backend)
    assert found is not None and backend.threads_seen == [64, 64] and backend.threads is None
    usual = ThreadedSometimesWrong(wrong_build=3)
    replayed(declared(tmp_path, attempts=5), usual)
    assert usual.threads_seen == [None, None]


@pytest.mark.parametrize("threads", [257, -1, 2.5, True, "64"])
def test_tensorflow_threads_is_a_whole_number_up_to_256(tmp_path, threads):
    with pytest.raises(KnownDivergenceError, match=r"entry 'e': tensorflow_threads must be a whole number from 1 to 256"):
        declared(tmp_path, attempts=5, tensorflow_threads=threads)


def test_tensorflow_threads_is_for_a_race_only(tmp_path):
    with pytest.raises(KnownDivergenceError, match=r"entry 'e': tensorflow_threads is for a race \(attempts > 1\)"):
        declared(tmp_path, tensorflow_threads=64)


def test_a_backend_in_this_process_refuses_other_tensorflow_threads():
    with pytest.raises(ValueError, match="reference runs in this process"):
        get_backend("reference").tensorflow_threads(64)


def test_a_relation_between_two_modes_is_excused_by_an_entry_for_either(tmp_path):
    """G4 compares a compiled mode's gradients with eager's on the same example: where an
    entry declares eager wrong there (keras-tensorflow's time-major loop, soak seed 7009),
    the compiled mode's G4 failure is that entry's, not a new one."""
    entry = declared(tmp_path, condition="masked", shows_as=["any"])
    reference = get_backend("reference")
    compiled, eager = Target(reference, "function"), Target(reference, "eager")
    found = divergence("G4")
    assert not entry.excuses(compiled, found)
    found.targets = (compiled, eager)
    assert entry.excuses(compiled, found)
    assert not declared(tmp_path, condition="not masked", shows_as=["any"]).excuses(compiled, found)


def test_a_compiled_mode_against_eager_s_declared_bug_is_that_entry():
    """The soak's case end to end: function mode's gradients are right (G1), eager runs
    min(B, T) steps with time_major (declared for eager); G4 between them is excused."""
    backend = get_backend("keras-tensorflow")
    if backend.missing_package():
        pytest.skip(f"needs {backend.missing_package()}")
    body, example, drawn = load_case(str(Path(__file__).parents[1] / "cases" / "keras-tensorflow-g4-function-against-eager-time-major.json"))
    target = Target(backend, "function")
    try:
        body(target=target, example=example, **drawn)
    except Divergence as found:
        assert found.rule == "G4" and {t.mode for t in found.targets} == {"function", "eager"}
        assert Ledger(load()).excuse(target, found).id == "keras-tensorflow-time-major-runs-batch-size-steps"
    else:
        raise AssertionError("the case no longer diverges on keras-tensorflow")
