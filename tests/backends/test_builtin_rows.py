"""The built-in rows (conformance/backends/builtin_layers.py): both paths against the
reference, the path each ran counted, L9's check able to fail, a reproducer that runs."""

import subprocess
import sys

import numpy as np
import pytest

from cells.builtin_cell import BuiltinCellStructure
from cells.example import Options
from cells.layer_example import LayerExample, LayerOptions
from cells.spec import CellSpec
from conformance.backends import get_backend
from conformance.contract.layer_reference import expected_layer_result, layer_source
from conformance.contract.stateful_reference import stateful_outputs
from conformance.contract.values import Result
from conformance.judge.assertions import Divergence, assert_agrees_with_reference
from conformance.judge.stateful_checks import check_stateful
from conformance.judge.targets import Target


def lstm_example(mask=None, **options):
    rng = np.random.default_rng(0)
    structure = BuiltinCellStructure("LSTM", 2, (3,))
    weights = tuple(tuple(rng.uniform(-0.5, 0.5, shape).ravel().tolist()) for shape in structure.weight_shapes())
    x = rng.uniform(-1, 1, (2, 4, 3)).astype("float32")
    if mask is not None:
        x[~mask] = 0.0
    return LayerExample(spec=CellSpec(structure, weights), options=Options(**options), inputs=(x,),
                        initial_states=(np.ones((2, 2), "float32"), np.ones((2, 2), "float32")), constants=(),
                        mask=mask, mask_family="none" if mask is None else "right-padded",
                        layer=LayerOptions(return_state=True))


@pytest.mark.e2e  # the row's worker is a process
@pytest.mark.parametrize("path, taken", [("own", "own:lstm"), ("generic", "generic")])
def test_torch_runs_its_own_lstm_without_a_mask_and_the_generic_loop_when_asked(path, taken):
    backend = get_backend("builtin-keras-torch")
    backend.path_counts.clear()
    target = Target(backend, "call")
    example = target.applicable(lstm_example().changed(layer={"path": path}))
    assert example.layer.path == path  # the row keeps the path the example drew
    assert_agrees_with_reference(backend.run(example, "call"), expected_layer_result(example), example, target)
    assert [t for (m, t), n in backend.path_counts.items() if m == "call"] == [taken]


@pytest.mark.e2e
def test_an_own_path_the_kernel_refuses_is_counted_as_fallen_back():
    """A mask: torch's own LSTM takes none, so Keras runs the generic loop for "own"."""
    backend = get_backend("builtin-keras-torch")
    backend.path_counts.clear()
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    backend.run(Target(backend, "predict").applicable(lstm_example(mask=mask)), "predict")
    assert [t for (m, t), n in backend.path_counts.items() if m == "predict"] == ["own:fell-back"]


class ResetsBetweenBatches:
    """A stateful layer that forgets its states at each call: what L9 forbids."""

    name, modes = "resets-between-batches", ("call",)

    def run_stateful(self, example, mode, cuts):
        from conformance.contract.layer_reference import layer_outputs
        from conformance.contract.stateful_reference import batches_of

        zeros = tuple(np.zeros_like(s) for s in example.initial_states)
        parts = batches_of(example, cuts)
        returned = [layer_outputs(part.changed(initial_states=zeros)) for part in parts + [parts[0]]]
        return [Result(last_output=[], outputs=r[0], new_states=r[1:]) for r in returned]


class Remembers(ResetsBetweenBatches):
    def run_stateful(self, example, mode, cuts):
        return [Result(last_output=[], outputs=r[0], new_states=r[1:]) for r in stateful_outputs(example, cuts)]


def test_l9_rejects_a_layer_that_resets_between_batches_and_passes_one_that_carries():
    example = lstm_example(return_all_outputs=True)
    check_stateful(Target(Remembers(), "call"), example, [2])
    with pytest.raises(Divergence) as raised:
        check_stateful(Target(ResetsBetweenBatches(), "call"), example, [2])
    assert raised.value.rule == "L9" and "batch 2 of 2" in raised.value.summary


@pytest.mark.e2e
def test_l9_holds_on_keras_3_tensorflow():
    mask = np.array([[True, True, True, False], [False, False, True, True]])
    example = lstm_example(mask=mask, return_all_outputs=True)
    check_stateful(Target(get_backend("builtin-keras-tensorflow"), "call"), example.changed(layer={"path": "generic"}), [1, 3])


@pytest.mark.e2e
def test_the_reproducer_of_a_built_in_layer_runs_and_agrees(tmp_path):
    backend = get_backend("builtin-keras-tensorflow")
    example = lstm_example(mask=np.array([[True, True, False, False], [True, True, True, True]]), go_backwards=True)
    script = tmp_path / "repro.py"
    script.write_text(layer_source(example.changed(layer={"path": "generic"}), backend, "predict"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agrees with the contract" in done.stdout


def test_list_and_the_run_say_a_built_in_row_draws_its_path():
    """The modes are call and predict; the path is the example's (issue 41's matrix says
    which ran in each mode's speed line), and `list` says so beside the modes."""
    backend = get_backend("builtin-keras-numpy")
    assert backend.modes == ("call", "predict")
    assert "paths: own or generic, drawn per example" in backend.refusals()
    assert "ConvLSTM1D" in get_backend("builtin-keras2-theano").refusals()


@pytest.mark.e2e
def test_an_l9_finding_s_reproducer_replays_its_batches_and_exits_1(tmp_path):
    """A stateful layer's finding cannot show in one run of the layer: its reproducer
    replays the stateful property on the case (conformance/replay/gradient_replay.py), and
    exits 1 while the layer's batches differ from the reference's (Keras 3 JAX, declared)."""
    from cells.case_schema import read_case
    from conformance.known.ledger import DEFAULT_FILE
    from conformance.replay.repro import case_script

    case = DEFAULT_FILE.parent / "builtin-keras-jax-stateful-layer-given-a-mask-starts-from-other-states.json"
    script = tmp_path / "repro.py"
    script.write_text(case_script(read_case(case)))
    assert "from conformance.replay.gradient_replay import main" in script.read_text()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[L9]" in done.stdout, done.stdout[-3000:]



@pytest.mark.e2e
def test_a_layer_row_and_its_built_in_row_share_one_worker_and_count_their_own_traces():
    """One Keras worker per Keras and backend in a process (layers.shared_worker): the
    pytest session of the suite's own tests had started forty, 23 GB. Each row still counts
    only the layers its own requests built."""
    from conformance.backends.layers import Keras3Layer

    layer_row, builtin_row = get_backend("layer-keras-numpy"), get_backend("builtin-keras-numpy")
    builtin_row.run(Target(builtin_row, "call").applicable(lstm_example()), "call")
    assert builtin_row._worker is layer_row._started_worker() is Keras3Layer("numpy")._started_worker()
    before = (layer_row.compile_stats["call", "traced"], builtin_row.compile_stats["call", "traced"])
    builtin_row.run(Target(builtin_row, "call").applicable(lstm_example(go_backwards=True)), "call")
    assert (layer_row.compile_stats["call", "traced"], builtin_row.compile_stats["call", "traced"]) == (before[0], before[1] + 1)
