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

from cells.resample import siblings
from cells.strategies import cell_specs, cell_structures, examples, options
from conformance.assertions import compare
from conformance.backends import get_backend
from conformance.runs import expected

pytestmark = pytest.mark.skipif(get_backend("keras-openvino").missing_package() is not None,
                                reason="OpenVINO is not installed (the openvino extra); rnn-conformance list says so too")

REPOSITORY = Path(__file__).resolve().parents[1]
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
