"""A gradient finding's reproducer (conformance/replay/gradient_script.py) exits 1 while the
backend's gradients differ from the reference's, 0 once they agree: every declared
gradient finding's script fails, and the same case on a loop that meets section 5 passes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cells.case_schema import read_case
from conformance.backends import get_backend
from conformance.replay.gradient_script import is_gradient_property
from conformance.known.ledger import load
from conformance.replay.repro import case_script
from conformance.judge.targets import Target

KNOWN_DIR = Path(__file__).resolve().parents[2] / "conformance" / "known"
GRADIENT_ENTRIES = [entry for entry in load() if is_gradient_property(entry.property)]


def run_script(source, tmp_path):
    path = tmp_path / "reproducer.py"
    path.write_text(source)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600, cwd=tmp_path)


@pytest.mark.parametrize("entry", GRADIENT_ENTRIES, ids=[e.id for e in GRADIENT_ENTRIES])
@pytest.mark.e2e
def test_every_declared_gradient_finding_reproducer_exits_1(entry, tmp_path):
    if get_backend(entry.backend).missing_package():
        pytest.skip(f"not installed here: {entry.backend} (conformance/properties/test_environments.py runs this test in its managed environment)")
    case = read_case(entry.example)
    target = Target(get_backend(entry.backend), case["mode"])
    if not entry.applies_to(target):
        found = entry.code_version(target)
        pytest.skip(f"declared for {entry.package} {entry.versions}, here {found.text() if found else 'not importable'}: "
                    "tests/research/test_release_ranges.py replays it on the ends of its range")
    result = run_script(case_script(case), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DIFFERS" in result.stdout or "CRASH" in result.stdout, result.stdout


@pytest.mark.e2e
def test_the_same_case_on_a_loop_that_meets_section_5_exits_0(tmp_path):
    """The where trap's case on keras-torch, replayed on fixed-tensorflow (eager): agrees."""
    if get_backend("fixed-tensorflow").missing_package():
        pytest.skip("not installed here: fixed-tensorflow (the main environment runs this test)")
    case = read_case(str(KNOWN_DIR / "keras-torch-masked-junk-poisons-gradients.json"))
    case = {**case, "backend": "fixed-tensorflow", "mode": "eager"}
    result = run_script(case_script(json.loads(json.dumps(case))), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DIFFERS" not in result.stdout and "agrees" in result.stdout


def test_a_gradient_script_holds_its_case_as_one_string_literal():
    """Nothing from the case becomes code: the script's only use of the case is a string."""
    import ast

    source = case_script(read_case(str(KNOWN_DIR / "keras-torch-masked-junk-poisons-gradients.json")))
    tree = ast.parse(source)
    assigned = [node for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "CASE"]
    assert len(assigned) == 1 and isinstance(assigned[0].value, ast.Constant) and isinstance(assigned[0].value.value, str)


@pytest.mark.e2e
def test_an_l7_case_agrees_only_after_every_fresh_build_agreed(monkeypatch, capsys):
    """A race makes some compiles of a model wrong and not others (layer-keras-tensorflow's
    training step), so an L7 replay compiles afresh before each attempt and says "agrees"
    only after all of them did: here that entry's case on tf_keras, where it agreed on
    every build measured (0 of 20), with 3 attempts instead of LAYER_ATTEMPTS."""
    from conformance.replay import gradient_replay
    from conformance.backends.layers import LayerBackend

    if get_backend("layer-tf-keras").missing_package():
        pytest.skip("not installed here: layer-tf-keras")
    case = read_case(str(KNOWN_DIR / "layer-keras-tensorflow-unrolled-train-step-sometimes-wrong.json"))
    forgotten = []
    original = LayerBackend.forget_compiled
    monkeypatch.setattr(LayerBackend, "forget_compiled", lambda self: forgotten.append(self.name) or original(self))
    monkeypatch.setattr(gradient_replay, "LAYER_ATTEMPTS", 3)
    assert gradient_replay.main(json.dumps({**case, "backend": "layer-tf-keras"})) == 0
    assert forgotten == ["layer-tf-keras"] * 2
    assert "agrees with the layer reference (L7) on 3 fresh compiles (TensorFlow with 64 threads)" in capsys.readouterr().out


def test_an_l7_replay_tries_as_long_as_the_rarest_declared_race_needs():
    """The reproducer of an L7 case says "agrees" only after as many compiles, under as many
    TensorFlow threads, as the declared races' replays use (known_divergences.toml)."""
    from conformance.replay import gradient_replay

    entries = load()
    assert gradient_replay.LAYER_ATTEMPTS == max(e.attempts for e in entries)
    assert gradient_replay.LAYER_THREADS == max(e.tensorflow_threads for e in entries)
