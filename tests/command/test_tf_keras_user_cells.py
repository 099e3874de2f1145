"""`--cell ... --cell-framework tf-keras` (issue 19): a tf_keras cell on layer-tf-keras,
constants included (tests/user_cells/tf_keras_examples.py), run by the real command, and
the ways the tf-keras options can be misused, each one line and exit 2."""

import json
import os
import subprocess
import sys

import pytest

from tests.command.test_user_cells import CELLS as KERAS3_CELLS
from tests.command.test_user_cells import command, needs, without_entries

pytestmark = pytest.mark.e2e  # each test runs the command

CELLS = "tests.user_cells.tf_keras_examples"
ROW = "layer-tf-keras"
TF_KERAS = ["--cell-framework", "tf-keras"]

USAGE_ERRORS = {
    "unknown framework": (["--cell", f"{CELLS}:ConstantsCell", "--cell-framework", "keras2"], "expected one of keras3, tf-keras"),
    "constants without their shape": (["--cell", f"{CELLS}:ConstantsCell", *TF_KERAS], "reads constants: give each one's"),
    "a shape for constants the cell does not read": (["--cell", f"{CELLS}:TfKerasPeepholeCell", *TF_KERAS, "--constant-shape", "2"],
                                                     "takes no constants argument"),
    "bad constant shape": (["--cell", f"{CELLS}:ConstantsCell", *TF_KERAS, "--constant-shape", "2,x"], "--constant-shape '2,x'"),
    "a Keras 3 cell as tf-keras": (["--cell", f"{KERAS3_CELLS}:TwoStatesCell", *TF_KERAS], "is not a tf_keras.layers.Layer subclass"),
    "a tf_keras cell as Keras 3": (["--cell", f"{CELLS}:TfKerasPeepholeCell", "--backends", "layer-keras-numpy"],
                                   "a tf_keras cell needs --cell-framework tf-keras"),
    "a Keras 3 row for a tf-keras cell": (["--cell", f"{CELLS}:ConstantsCell", *TF_KERAS, "--constant-shape", "2",
                                           "--backends", "layer-keras-numpy"], "layer-keras-numpy is not one"),
    "cell options without --cell": (["--constant-shape", "2", "--backends", ROW], "--constant-shape needs --cell"),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_a_misused_tf_keras_option_is_one_line_and_exit_2(case):
    needs(ROW)
    arguments, text = USAGE_ERRORS[case]
    status, out, err = command(*arguments)
    lines = err.strip().splitlines()
    assert status == 2, (status, out[-2000:], err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("rnn-conformance: error: ") and text in lines[0], err
    assert "Traceback" not in out + err


def test_a_cell_that_reads_constants_runs_on_tf_keras_and_meets_a_stacked_crash(tmp_path):
    """ConstantsCell gets drawn constants on every route, in Bidirectional, stacked and in
    L7. Plain and Bidirectional layers and the training step agree with the reference (its
    own call, stepped eagerly); stacked copies crash in tf_keras itself when the layer has
    constants, a mask and per-cell initial states together (not unrolled: tf.while_loop
    gets the nested states back flat), which the derandomized sample meets in L6 or in
    L7's stacked draws; the suite's own stacked cells, without constants, run. Declared
    (layer-tf-keras-stacked-constants-per-cell-initial-state-crashes, a case of this very
    cell), so exit 0 with the entry met and its workaround; without that entry every new
    divergence is that crash, and its reproducer crashes on its own."""
    needs(ROW)
    status, out, err = command("--cell", f"{CELLS}:ConstantsCell", *TF_KERAS, "--constant-shape", "2", "--max-examples", "3",
                               "--report", str(tmp_path / "report.json"))
    assert status == 0, out[-4000:] + err[-2000:]
    assert "layer-tf-keras-stacked-constants-per-cell-initial-state-crashes on layer-tf-keras: call" in out, out[-4000:]
    assert "workaround: pass initial_state flat" in out, out[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {(r["mode"], r["property"].split("::")[1]): r["outcome"] for b in report["backends"] for r in b["results"]}
    for mode in ("call", "predict"):
        for prop in ("agrees_with_reference", "mask_routes_agree", "in_bidirectional_agrees_with_reference"):
            assert outcomes[(mode, f"test_your_cell_{prop}")] in ("pass", "known"), outcomes
    assert outcomes[("predict", "test_your_cell_training_step_follows_reference_gradient")] in ("pass", "known"), outcomes

    known = without_entries(tmp_path, "layer-tf-keras-stacked-constants")
    status, out, err = command("--cell", f"{CELLS}:ConstantsCell", *TF_KERAS, "--constant-shape", "2", "--max-examples", "3",
                               "--repro-dir", str(tmp_path), "--known-divergences", str(known))
    assert status == 1, out[-4000:] + err[-2000:]
    found = out.split("New divergences:\n")[1].split("\n\n")[0].split("\nlayer-tf-keras [")
    assert found and all("CRASH: ValueError: The two structures don't have the same nested structure" in f and
                         "stacked cells=" in f for f in found), out[-4000:]
    script = sorted(tmp_path.glob("*-crash.py"))[0]
    text = script.read_text()
    assert f"from {CELLS} import ConstantsCell" in text and "kwargs['constants']" in text
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=os.environ)
    assert done.returncode == 1 and "nested structure" in done.stdout + done.stderr, done.stdout[-2000:] + done.stderr[-2000:]


def test_a_tf_keras_cell_without_constants_conforms(tmp_path):
    """A tf_keras peephole cell (output h unlike its state c): exit 0 on layer-tf-keras,
    whatever declared root causes reached it named and excused. Two examples a property:
    the run is about the cell running at all (146 s at 4, 84 s at 2: a train step is a
    compile per example; excusing is the constants test's and test_user_cells')."""
    needs(ROW)
    status, out, err = command("--cell", f"{CELLS}:TfKerasPeepholeCell", *TF_KERAS, "--max-examples", "2",
                               "--repro-dir", str(tmp_path))
    assert status == 0, out[-4000:] + err[-2000:]
    assert f"{ROW} [call]: " in out and f"{ROW} [predict]: " in out and "PASSED (exit status 0)" in out
