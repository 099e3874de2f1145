"""The keras-openvino row: which code path each mode reaches, weights as arguments, reuse.

The row runs in a worker under KERAS_BACKEND=openvino (conformance/backends/keras_openvino.py);
the facts about the graphs are checked in such a process too (a subprocess here), since
this process may run Keras on another backend.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optree
import pytest
from hypothesis import given, settings, strategies as st

from cells.catalog import report_2018_example
from cells.resample import siblings
from cells.strategies import cell_specs, cell_structures, examples, options
from conformance.judge.assertions import compare
from conformance.backends import get_backend
from conformance.judge.runs import expected

pytestmark = [pytest.mark.e2e,  # the row runs in a worker process, and so do the checks of its graphs
              pytest.mark.skipif(get_backend("keras-openvino").missing_package() is not None,
                                 reason="OpenVINO is not installed (the openvino extra); rnn-conformance list says so too")]

REPOSITORY = Path(__file__).resolve().parents[2]
# float32 cells without masks: what the row computes as the contract says (its findings aside).
PLAIN = examples(
    specs=cell_specs(cell_structures(dtype=st.just("float32"), state_shapes=((2,), (3,)), max_constants=0)),
    option_strategy=options(go_backwards=False, return_all_outputs=True),
    mask_families=st.just("none"),
)


def _in_openvino_process(code):
    """Run `code` in a fresh Python with KERAS_BACKEND=openvino; return its stdout."""
    environment = {**os.environ, "KERAS_BACKEND": "openvino", "PYTHONPATH": str(REPOSITORY)}
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=REPOSITORY, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout


def test_eager_reaches_the_unrolled_path_and_loop_the_loop_op():
    code = """
import importlib
ov_rnn = importlib.import_module("keras.src.backend.openvino.rnn")  # the module (the package exports a function of that name)
from hypothesis import given, settings, strategies as st
from cells.strategies import cell_specs, cell_structures, examples, options
from conformance.backends.openvino_side import OpenVINORunner

calls = []
for name in ("_rnn_unrolled", "_rnn_loop"):
    original = getattr(ov_rnn, name)
    setattr(ov_rnn, name, lambda *a, _n=name, _f=original, **k: calls.append(_n) or _f(*a, **k))
runner = OpenVINORunner()

@settings(max_examples=3, database=None, derandomize=True, deadline=None)
@given(examples(specs=cell_specs(cell_structures(dtype=st.just("float32"), max_constants=0)), mask_families=st.just("none")))
def check(example):
    calls.clear(); runner.run(example, "eager"); assert calls == ["_rnn_unrolled"], calls
    calls.clear(); runner.run(example, "loop"); assert calls == ["_rnn_loop"], calls

check()
print("checked")
"""
    out = _in_openvino_process(code)
    assert out.strip().endswith("checked")


def test_loop_mode_reuses_one_compile_for_siblings_and_new_batch_sizes():
    backend = get_backend("keras-openvino")

    @settings(max_examples=3, database=None, derandomize=True, deadline=None)
    @given(example=PLAIN)
    def check(example):
        before = backend.compile_stats.copy()
        data_sets = [example, *siblings(example)]
        for data_set in data_sets:
            # Each sibling has new weights: a compile that kept the first weights as
            # constants would still be reused, and disagree with the reference here.
            assert not compare(backend.run(data_set, "loop"), expected(data_set), data_set)
        new = backend.compile_stats - before
        assert new["loop", "traced"] <= 1 and new["loop", "reused"] >= len(data_sets) - 1, new

    check()


def test_forgetting_makes_the_worker_compile_anew():
    """Backend.forget_compiled (a replay's fresh attempt, known_divergences.toml `attempts`)
    reaches the worker: the same example compiles again instead of reusing its model."""
    backend = get_backend("keras-openvino")
    example = report_2018_example()
    backend.run(example, "loop")
    before = backend.compile_stats.copy()
    backend.run(example, "loop")
    backend.forget_compiled()
    backend.run(example, "loop")
    new = backend.compile_stats - before
    assert new["loop", "reused"] == 1 and new["loop", "traced"] == 1, new


def test_eager_and_loop_agree_with_the_reference_on_plain_float32_cells():
    backend = get_backend("keras-openvino")

    @settings(max_examples=6, database=None, derandomize=True, deadline=None)
    @given(example=PLAIN)
    def check(example):
        for mode in backend.modes:
            assert not compare(backend.run(example, mode), expected(example), example), mode

    check()


def test_a_float64_example_comes_back_float32_as_a_user_sees_it():
    """Keras' OpenVINO backend computes float64 in float32 (a declared finding): checked
    here so that a release that fixes it shows up, not only in the property run."""
    backend = get_backend("keras-openvino")

    @settings(max_examples=1, database=None, derandomize=True, deadline=None)
    @given(example=examples(specs=cell_specs(cell_structures(dtype=st.just("float64"), max_constants=0)),
                            mask_families=st.just("none")))
    def check(example):
        result = backend.run(example, "eager")
        leaves = optree.tree_leaves([result.last_output, result.outputs, result.new_states])
        assert {np.asarray(leaf).dtype for leaf in leaves} == {np.dtype(np.float32)}

    check()


def test_keras_openvino_predict_keeps_the_weights_it_compiled_with():
    """A finding the layer worker works around (conformance/backends/layer_worker/keras_side.py drops
    `ov_compiled_model` after setting weights): Keras' OpenVINO trainer bakes the
    weights into its compiled predict model and reuses it after `set_weights`. When this
    test fails, Keras fixed it: remove the workaround and docs/openvino.md's mention."""
    code = """
import numpy as np
import keras

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, use_bias=False)])
x = np.ones((1, 3), np.float32)
first = model.predict_on_batch(x)
model.set_weights([np.zeros((3, 2), np.float32)])
print("stale" if np.allclose(model.predict_on_batch(x), first) and not np.allclose(first, 0) else "fresh")
"""
    assert _in_openvino_process(code).split()[-1] == "stale"


def test_the_layer_worker_asks_openvino_for_float32_inference():
    """OpenVINO's default precision is bfloat16 on CPUs that have it (this machine's
    Xeon does); Keras' trainer compiles with no config, so the worker adds the hint."""
    code = """
import numpy as np
import openvino
import openvino.opset16 as ops
from conformance.backends.layer_worker.keras_side import LayerRunner

LayerRunner("keras3")
x = ops.parameter([2], openvino.Type.f32)
compiled = openvino.compile_model(openvino.Model([ops.relu(x).output(0)], [x]), "CPU")
print("precision:", str(compiled.get_property("INFERENCE_PRECISION_HINT")))
"""
    assert _in_openvino_process(code).strip().splitlines()[-1] == "precision: <Type: 'float32'>"


@pytest.mark.parametrize("case, mode, entry", [
    # R13: row 0 of the batch (B = 2) is wrong, the sample run alone (B = 1) is right; the
    # entry's condition (batch > 1) holds for the batched run only.
    ("keras-openvino-batched-row-of-a-rank-3-state.json", "loop", "keras-openvino-mask-not-broadcast-to-rank-3-tensors"),
    # R7: the run with return_all_outputs=False carries last_output where it emits zeros.
    ("keras-openvino-one-step-of-a-carried-last-output.json", "eager", "keras-openvino-last-output-ignores-zero-output-for-mask"),
])
def test_a_metamorphic_divergence_is_excused_by_the_root_cause_of_either_run(case, mode, entry):
    """Found by a run of 100 examples: both cases diverged as new although declared, because
    the entry's condition was asked of one run of the pair only (or it did not list the rule)."""
    from conformance.known.ledger import Ledger, load
    from conformance.replay.repro import load_case
    from conformance.judge.assertions import Divergence
    from conformance.judge.targets import target

    body, example, drawn = load_case(str(REPOSITORY / "tests" / "cases" / case))
    row = target("keras-openvino", mode)
    try:
        body(target=row, example=row.applicable(example), **drawn)
    except Divergence as found:
        excused = Ledger(load()).excuse(row, found)
        assert excused is not None and excused.id == entry, found
    else:
        raise AssertionError(f"{case} no longer diverges on keras-openvino [{mode}]")
