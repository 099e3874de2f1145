"""R13 (arguments are not modified) can fail wherever a loop can write into its arguments.

The adapters hand NumPy loops the example's own arrays and torch loops tensors on the
same memory (torch.from_numpy), so a loop that writes into its inputs changes the
example, and test_arguments_are_not_modified sees it. (TensorFlow and JAX tensors are
immutable copies; Theano's compiled functions do not write into their inputs; the layer
rows get their arrays through a pipe: none of them can write into the example.)
"""

from pathlib import Path

import pytest
from hypothesis import settings

from cells.strategies import examples, options
from conformance.base import profiles
from conformance.properties import test_structure
from conformance.judge.assertions import Divergence
from conformance.backends.impl import ImplBackend
from conformance.backends.keras_torch import KerasTorch
from conformance.backends.numpy_function import NumpyFunctionBackend
from conformance.research.mutants import MUTANTS, CorrectLoop
from conformance.properties import generated_only
from conformance.judge.targets import Target

IMPLS = Path(__file__).resolve().parents[1] / "impls"
CI = profiles.settings_for("ci", phases=[p for p in settings.default.phases if p.name != "shrink"], report_multiple_bugs=False)


# Keras' torch loop crashes on nested inputs and when unrolled backwards with a mask
# (declared divergences): left out, so that the first failure is about R13.
FLAT_INPUTS = examples(option_strategy=options(unroll=False)).filter(lambda e: not e.structure.nested_inputs)


def not_modified(strategy=FLAT_INPUTS):
    return generated_only(test_structure.test_arguments_are_not_modified, strategy, CI)


def assert_r13_fails(target):
    with pytest.raises(Divergence) as failure:
        not_modified()(target=target)
    assert failure.value.rule == "R13" and "was modified in place" in failure.value.summary
    assert failure.value.example.mask is not None


@pytest.fixture
def impls(monkeypatch):
    monkeypatch.syspath_prepend(str(IMPLS))


def test_the_mutant_that_zeroes_masked_inputs_is_killed_by_r13():
    mutant = MUTANTS["masked-inputs-zeroed-in-place"]
    assert_r13_fails(Target(NumpyFunctionBackend(f"mutant:{mutant.name}", mutant.rnn), "eager"))


def test_the_correct_loop_leaves_its_arguments_alone():
    not_modified()(target=Target(NumpyFunctionBackend("correct-loop", CorrectLoop()), "eager"))


@pytest.mark.e2e  # the --impl loop runs in a worker process of its own (conformance/backends/impl_side.py)
def test_an_impl_numpy_loop_that_writes_into_its_inputs_fails_r13(impls):
    assert_r13_fails(Target(ImplBackend("in_place_rnn:rnn_numpy", "numpy"), "eager"))


@pytest.mark.e2e  # the --impl loop runs in a worker process of its own (conformance/backends/impl_side.py)
def test_an_impl_torch_loop_that_writes_into_its_inputs_fails_r13(impls):
    pytest.importorskip("torch", reason="NOT INSTALLED: torch")
    pytest.importorskip("keras", reason="NOT INSTALLED: keras")
    assert_r13_fails(Target(ImplBackend("in_place_rnn:rnn_torch", "torch"), "eager"))
    not_modified()(target=Target(ImplBackend("in_place_rnn:rnn_torch_control", "torch"), "eager"))  # control


def test_keras_torch_gets_tensors_on_the_examples_memory(impls, monkeypatch):
    """The keras-torch adapter, with Keras' loop replaced by one that writes into its inputs."""
    pytest.importorskip("torch", reason="NOT INSTALLED: torch")
    keras_torch_rnn = pytest.importorskip("keras.src.backend.torch.rnn", reason="NOT INSTALLED: keras")
    import in_place_rnn

    monkeypatch.setattr(keras_torch_rnn, "rnn", in_place_rnn.zeroing_masked_inputs(keras_torch_rnn.rnn))
    assert_r13_fails(Target(KerasTorch(), "eager"))
