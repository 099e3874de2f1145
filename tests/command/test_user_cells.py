"""`rnn-conformance --cell MODULE:CLASS` (issue 19): a cell author's own cell, run by the
real command on the Keras 3 layer rows, and every way a cell can be unusable, each one
line and exit 2 (the example cells are tests/user_cells/examples.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
CELLS = "tests.user_cells.examples"
KNOWN_FILE = REPOSITORY / "conformance" / "known" / "known_divergences.toml"
ROW = "layer-keras-numpy"  # every Keras 3 layer row runs the same properties; NumPy is the quickest


def command(*arguments, timeout=600):
    """The real command, run from the repository (where `tests.user_cells` imports)."""
    done = subprocess.run([sys.executable, "-m", "conformance", *arguments], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "CI": "true"})
    return done.returncode, done.stdout, done.stderr


def needs(row):
    from conformance.backends import get_backend

    missing = get_backend(row).missing_package()
    if missing:
        pytest.skip(f"NOT INSTALLED: {row} ({missing})")


USAGE_ERRORS = {
    "not importable": (["--cell", "no_such_package.cells:Cell"], "cannot import no_such_package.cells"),
    "no such class": (["--cell", f"{CELLS}:Missing"], "has no Missing"),
    "not MODULE:CLASS": (["--cell", "justaname"], "expected MODULE:CLASS"),
    "not a layer": (["--cell", f"{CELLS}:NotACell"], "is not a keras.layers.Layer subclass"),
    "not a cell": (["--cell", f"{CELLS}:NoStateCell"], "has no state_size"),
    "cell-args not JSON": (["--cell", f"{CELLS}:PeepholeLSTMCell", "--cell-args", "{units: 2}"], "--cell-args is not JSON"),
    "cell-args not an object": (["--cell", f"{CELLS}:PeepholeLSTMCell", "--cell-args", "[2]"], "must be a JSON object"),
    "cell-args do not fit": (["--cell", f"{CELLS}:PeepholeLSTMCell", "--cell-args", '{"unit": 2}'], "Unrecognized keyword arguments"),
    "bad input shape": (["--cell", f"{CELLS}:TwoStatesCell", "--input-shape", "0"], "expected 1 to 3 integers from 1 to 256"),
    "cannot be built for the shape": (["--cell", f"{CELLS}:FourFeaturesCell", "--input-shape", "3"],
                                      "cannot be built for input shape (3,)"),
    "not deterministic": (["--cell", f"{CELLS}:CountingCell"], "is not deterministic"),
    "depends on the backend's float types": (["--cell", f"{CELLS}:Float64ConstantCell"], "returns float64 for float32 inputs"),
    "reads constants": (["--cell", f"{CELLS}:ConstantsCell"], "requires constants, and Keras 3's keras.layers.RNN passes"),
    "not a Keras 3 layer row": (["--cell", f"{CELLS}:TwoStatesCell", "--backends", "keras-jax"], "keras-jax is not one"),
    "with --impl": (["--cell", f"{CELLS}:TwoStatesCell", "--impl", "tests.impls.numpy_rnn:rnn"], "cannot be combined"),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
@pytest.mark.e2e
def test_an_unusable_cell_is_one_line_and_exit_2(case):
    arguments, text = USAGE_ERRORS[case]
    status, out, err = command(*arguments, "--backends", ROW) if "--backends" not in arguments else command(*arguments)
    lines = err.strip().splitlines()
    assert status == 2, (status, out[-2000:], err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("rnn-conformance: error: ") and text in lines[0], err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("cell, arguments", [
    ("PeepholeLSTMCell", ["--cell-args", '{"units": 2}']),
    ("OutputUnlikeStateCell", []),
    ("TwoStatesCell", ["--input-shape", "2"]),
])
@pytest.mark.e2e
def test_the_command_runs_each_example_cell(cell, arguments, tmp_path):
    """Every property on the cell, both modes; what it found is excused by declared entries
    of the row (which the summary names), so a cell author reads which bugs reach the cell."""
    needs(ROW)
    status, out, err = command("--cell", f"{CELLS}:{cell}", *arguments, "--backends", ROW, "--max-examples", "8",
                               "--repro-dir", str(tmp_path), "--report", str(tmp_path / "report.json"))
    assert status == 0, out[-4000:] + err[-2000:]
    assert f"{ROW} [call]: " in out and f"{ROW} [predict]: " in out and "PASSED (exit status 0)" in out
    met = {line.split()[0] for line in out.split("declared divergences met (examples excused per mode):\n")[-1].splitlines()
           if line.startswith("  ")}
    if met:  # each root cause that reached the cell is explained once, before the verdict
        notes = out.split("what they mean for your cell:\n")[1].split("\n\n")[0]
        for entry in met:
            assert f"  {entry.removeprefix(ROW + '-')} ({ROW}): " in notes, notes
    ran = (tmp_path / "report.json").read_text()
    for prop in ("agrees_with_reference", "mask_routes_agree", "in_bidirectional_agrees_with_reference"):
        assert f"test_your_cell_{prop}" in ran


@pytest.mark.e2e
def test_the_2018_bug_reaches_a_cell_whose_output_is_not_its_state(tmp_path):
    """keras-team/keras#11472, still in Keras 3's NumPy backend (declared as
    layer-keras-numpy-masked-output-from-states0): a masked step emits states[0], which for
    a cell whose output (size 3) is not its state (size 2) crashes even under an all-true
    mask. Without the declared entries the cell's run fails, and the reproducer imports
    the user's own class."""
    needs(ROW)
    status, out, _ = command("--cell", f"{CELLS}:OutputUnlikeStateCell", "--backends", ROW, "--ignore-known",
                             "--max-examples", "30", "--shrink-seconds", "2", "--repro-dir", str(tmp_path))
    assert status == 1, out[-3000:]
    assert "operands could not be broadcast together with shapes (1,1) (1,2) (1,3)" in out, out[-3000:]
    scripts = [line.split("reproducer: ", 1)[1].strip() for line in out.splitlines() if "reproducer: " in line]
    script = Path(scripts[0]) if Path(scripts[0]).is_absolute() else REPOSITORY / scripts[0]
    script = script.read_text()
    assert f"from {CELLS} import OutputUnlikeStateCell" in script



@pytest.mark.e2e
def test_a_matrix_state_meets_a_declared_mask_broadcast_crash(tmp_path):
    """A cell with a (2, 2) state reaches a root cause the suite's own layer cells (rank-1
    states) never reach: keras-numpy's `rnn` masks with a (B, 1) array that does not
    broadcast against a (B, 2, 2) state. The layer row declares it (its case is of the
    same cell, conformance/known/known_cells), so the run passes and the author reads what it
    means for the cell."""
    needs(ROW)
    status, out, _ = command("--cell", f"{CELLS}:RankedStatesCell", "--backends", ROW, "--max-examples", "8",
                             "--repro-dir", str(tmp_path))
    assert status == 0, out[-3000:]
    assert "layer-keras-numpy-state-mask-rank-crashes on layer-keras-numpy: call" in out, out[-3000:]
    assert "state-mask-rank-crashes (layer-keras-numpy): a state of rank 2 or more" in out, out[-3000:]


def without_entries(tmp_path, prefix):
    """The shipped known-divergence file less the entries whose id starts with `prefix`
    (their cases found from anywhere: the examples as absolute paths)."""
    blocks = KNOWN_FILE.read_text().split("[[divergence]]")
    kept = [b for b in blocks[1:] if not b.lstrip().startswith(f'id = "{prefix}')]
    text = "[[divergence]]".join([blocks[0], *kept]).replace('example = "', f'example = "{KNOWN_FILE.parent}/')
    path = tmp_path / "known.toml"
    path.write_text(text)
    return path


@pytest.mark.e2e
def test_undeclared_on_the_layer_row_it_names_the_function_rows_entry(tmp_path):
    """Without the layer row's entries the crash is new, and names the root cause declared
    on the rnn underneath; its reproducer crashes on its own."""
    needs(ROW)
    known = without_entries(tmp_path, "layer-keras-numpy-state-mask-rank")
    status, out, _ = command("--cell", f"{CELLS}:RankedStatesCell", "--backends", ROW, "--max-examples", "8",
                             "--repro-dir", str(tmp_path), "--known-divergences", str(known))
    assert status == 1, out[-3000:]
    assert "CRASH: ValueError: operands could not be broadcast together with shapes (3,1) (3,2,2)" in out, out[-3000:]
    assert "matches a root cause declared on the rnn this layer runs: keras-numpy-state-mask-rank-crashes (on keras-numpy)" in out
    scripts = sorted(tmp_path.glob("*-crash.py"))
    assert scripts, out[-3000:]
    done = subprocess.run([sys.executable, str(scripts[0])], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": "numpy"})
    assert done.returncode == 1 and "broadcast" in done.stdout + done.stderr, done.stdout[-2000:] + done.stderr[-2000:]


TRAINING_ROW = "layer-keras-torch"  # the quickest row that trains


@pytest.mark.e2e
def test_your_cells_gradients_and_training_step_agree_on_a_row_that_trains(tmp_path):
    """L7 on a user's cell: dL/d its weights (and inputs, initial states) against central
    differences of its own call in float64, and one train_on_batch step."""
    needs(TRAINING_ROW)
    status, out, err = command("--cell", f"{CELLS}:PeepholeLSTMCell", "--backends", TRAINING_ROW, "--max-examples", "2",
                               "--report", str(tmp_path / "report.json"))
    assert status == 0, out[-4000:] + err[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    ran = {(r["mode"], r["property"]) for b in report["backends"] for r in b["results"] if r["outcome"] == "pass"}
    assert ("call", "test_user_cell::test_your_cell_gradients_agree_with_reference") in ran, sorted(ran)
    assert ("predict", "test_user_cell::test_your_cell_training_step_follows_reference_gradient") in ran, sorted(ran)


@pytest.mark.e2e
def test_a_gradient_the_cell_hides_from_autodiff_fails_L7(tmp_path):
    """StopGradientCell's backends' gradients of its recurrent weight are 0; the reference's
    differences are not: the gradient property fires, by rule L7."""
    needs(TRAINING_ROW)
    status, out, _ = command("--cell", f"{CELLS}:StopGradientCell", "--backends", TRAINING_ROW, "--max-examples", "2",
                             "--shrink-seconds", "5", "--repro-dir", str(tmp_path))
    assert status == 1, out[-3000:]
    assert "test_your_cell_gradients_agree_with_reference: DIVERGES [L7]" in out, out[-3000:]


def test_every_cell_author_note_explains_a_declared_root_cause():
    """A note whose key names no declared entry (a typo, a renamed entry) would never print."""
    from conformance.command import cell_author_notes
    from conformance.known import ledger as known

    causes = {cell_author_notes.root_cause_of(e.id, e.backend) for e in known.load()}
    notes = cell_author_notes.load_notes()
    assert set(notes) <= causes, sorted(set(notes) - causes)
    assert all(note.get("meaning") and note.get("workaround") for note in notes.values())


def test_every_root_cause_a_cell_run_can_meet_has_a_note():
    """--cell runs the Keras 3 layer rows and layer-tf-keras: each root cause declared
    there prints its meaning and a workaround, not only the entry's reason."""
    from conformance.command import cell_author_notes
    from conformance.known import ledger as known
    from conformance.backends import get_backend

    rows = {"layer-tf-keras"} | {e.backend for e in known.load()
                                 if getattr(get_backend(e.backend), "flavor", None) == "keras3" and e.backend.startswith("layer-")}
    notes = cell_author_notes.load_notes()
    missing = sorted({cell_author_notes.root_cause_of(e.id, e.backend) for e in known.load() if e.backend in rows} - set(notes))
    assert not missing, missing


@pytest.mark.e2e
def test_a_cell_that_indexes_a_weight_meets_openvinos_predict_crash(tmp_path):
    """PeepholeLSTMCell reads self.peephole[0]: OpenVINO's Variable.__getitem__ converts
    the weight to NumPy, which a compiled predict cannot (declared, with the workaround).
    Without the entry the run fails, and lists the row first as one where the cell cannot
    run at all (it crashes on the plainest example), apart from the divergences."""
    needs("layer-keras-openvino")
    status, out, _ = command("--cell", f"{CELLS}:PeepholeLSTMCell", "--cell-args", '{"units": 2}', "--backends",
                             "layer-keras-openvino", "--max-examples", "3", "--repro-dir", str(tmp_path))
    assert status == 0, out[-3000:]
    assert "layer-keras-openvino-indexed-weight-in-predict-crashes on layer-keras-openvino: predict" in out, out[-3000:]
    assert "workaround: index through an op: ops.take(self.w, 0, axis=0)" in out, out[-3000:]

    # Undeclared, it is first of all a row where the cell cannot run: the plainest example crashes.
    known = without_entries(tmp_path, "layer-keras-openvino-indexed-weight")
    status, out, _ = command("--cell", f"{CELLS}:PeepholeLSTMCell", "--cell-args", '{"units": 2}', "--backends",
                             "layer-keras-openvino", "--max-examples", "3", "--repro-dir", str(tmp_path),
                             "--known-divergences", str(known))
    assert status == 1, out[-3000:]
    heading, listed = out.split("Where your cell cannot run at all")[1].split(":\n", 1)
    assert "B=1, T=1, no mask" in heading
    assert listed.startswith("layer-keras-openvino [predict] test_user_cell::test_your_cell_agrees_with_reference: CRASH"), listed[:500]
    assert "1 where your cell cannot run at all" in out.splitlines()[-1]
