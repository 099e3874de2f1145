"""Layers under a dtype policy (issue 40): the options, their cases and scripts, the
reference, the not-applicable row, the mutant, and (e2e) a Keras layer under a policy."""

import json

import numpy as np
import pytest
from hypothesis import given, settings

from cells.case_fields import CaseError
from cells.case_schema import check_example
from cells.keras_script import layer_script
from cells.layer_example import DTYPE_POLICIES, LayerOptions, dense_columns, packed_weights, unpacked_weights
from cells.layer_strategies import layer_examples, policy_layer_examples
from cells.serialize import example_from_dict, example_to_dict
from conformance.backends.layers import Keras2TheanoLayer, Keras3Layer
from conformance.contract.layer_reference import expected_layer_result, layer_outputs, layer_source
from conformance.contract.precision import POLICY_COMPUTE_DTYPES
from conformance.judge.assertions import Divergence, divergences_in
from conformance.judge.targets import Target
from conformance.properties import test_layer_precision
from conformance.research.mutants.layer_catalog import LAYER_MUTANTS, InProcessLayer


def drawn(strategy, count=1):
    found = []

    @settings(max_examples=count, database=None, derandomize=True)
    @given(strategy)
    def take(example):
        found.append(example)

    take()
    return found


def a_sliced_mixed_example():
    """A drawn policy example with at least two dense weights, under mixed_float16, sliced."""
    for example in drawn(policy_layer_examples(), 60):
        if len(example.spec.structure.weight_shapes()) > 3 and not example.stacked:
            return example.changed(layer={"dtype_policy": "mixed_float16", "weights_layout": "sliced"})
    raise AssertionError("no example with two dense weights in 60 draws")


def test_the_policies_are_the_contracts():
    assert set(DTYPE_POLICIES) == set(POLICY_COMPUTE_DTYPES)


def test_a_sliced_kernel_holds_every_dense_weight_and_gives_them_back():
    example = a_sliced_mixed_example()
    structure, arrays = example.spec.structure, example.spec.weight_arrays()
    packed = packed_weights(structure, arrays, "sliced")
    assert len(packed) == 3 and packed[2].shape == (structure.hidden, dense_columns(structure)[-1][1])
    assert all(np.array_equal(a, b) for a, b in zip(unpacked_weights(structure, packed, "sliced"), arrays))
    assert packed_weights(structure, arrays, "whole") == arrays


def test_a_policy_case_reads_back_and_an_old_case_reads_with_the_defaults():
    example = a_sliced_mixed_example()
    data = json.loads(json.dumps(example_to_dict(example)))
    assert data["layer"]["dtype_policy"] == "mixed_float16" and data["layer"]["weights_layout"] == "sliced"
    assert example_from_dict(data).layer == example.layer
    old = json.loads(json.dumps(example_to_dict(example.changed(layer={"dtype_policy": "float32", "weights_layout": "whole"}))))
    assert "dtype_policy" not in old["layer"] and "weights_layout" not in old["layer"]  # as cases were saved before
    assert example_from_dict(old).layer == LayerOptions(**{**old["layer"]})
    assert example_from_dict(old).layer.dtype_policy == "float32"


@pytest.mark.parametrize("field, value", [("dtype_policy", "float8"), ("dtype_policy", 16), ("weights_layout", "diagonal")])
def test_a_case_with_an_unknown_policy_or_layout_is_refused(field, value):
    data = example_to_dict(a_sliced_mixed_example())
    data["layer"][field] = value
    with pytest.raises(CaseError, match=field):
        check_example(data)


def test_the_reference_under_a_policy_is_in_the_compute_dtype_and_near_the_float32_one():
    for example in drawn(policy_layer_examples(), 10):
        expected = expected_layer_result(example)
        compute = POLICY_COMPUTE_DTYPES[example.layer.dtype_policy]
        assert all(str(np.asarray(a).dtype) == compute for a in [expected.outputs, *expected.new_states])
        wide = layer_outputs(example)
        assert np.allclose(np.asarray(expected.outputs, np.float64), wide[0], rtol=0.1, atol=0.1 * example.steps)


def test_a_policy_script_names_the_policy_slices_the_kernel_and_checks_the_dtypes():
    example = a_sliced_mixed_example()
    script = layer_source(example, Keras3Layer("jax"), "call")
    assert "dtype='mixed_float16'" in script and "self.w[2][:, a:b]" in script and "g.dtype == e.dtype" in script
    compile(script, "<script>", "exec")
    tf_keras = layer_script(example, "tf_keras", "call", layer_outputs(example))
    assert "keras.mixed_precision.Policy('mixed_float16')" in tf_keras
    with pytest.raises(CaseError, match="no dtype policy"):
        layer_script(example, "keras2", "predict", layer_outputs(example))


def test_a_float32_script_is_as_before():
    example = drawn(layer_examples())[0]
    assert "dtype=" not in layer_source(example, Keras3Layer("jax"), "call").split("layer = ")[1].split("\n")[0]


def test_keras2_on_theano_has_no_policy_and_says_why():
    target = Target(Keras2TheanoLayer(), "predict")
    with pytest.raises(pytest.skip.Exception, match="not applicable: .*no dtype policy .*Keras 2.3.1"):
        target.require_dtype_policies()


def test_a_row_refusing_every_policy_says_each_reason():
    backend = InProcessLayer("refuses")
    backend.refused_policies = {p: f"no {p} here" for p in backend.dtype_policies}
    with pytest.raises(pytest.skip.Exception, match="mixed_bfloat16: no mixed_bfloat16 here"):
        Target(backend, "call").require_dtype_policies()


def test_the_policy_property_passes_a_correct_layer(ci_profile_without_shrinking):
    test_layer_precision.test_layer_under_a_dtype_policy_agrees_with_reference(target=Target(InProcessLayer("correct"), "call"))


def test_the_policy_mutant_fails_the_policy_property_by_r13(ci_profile_without_shrinking):
    mutant = LAYER_MUTANTS["policy-variable-dtype-as-compute-dtype"]
    with pytest.raises((Divergence, BaseExceptionGroup)) as failure:
        test_layer_precision.test_layer_under_a_dtype_policy_agrees_with_reference(target=Target(mutant.backend, "call"))
    assert {d.rule for d in divergences_in(failure.value)} == {"R13"}
    assert all("dtype float32, expected" in str(d) for d in divergences_in(failure.value))


@pytest.mark.e2e
@pytest.mark.parametrize("policy, dtype", [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")])
def test_a_keras_layer_under_a_mixed_policy_returns_its_compute_dtype(policy, dtype):
    """The policy reaches the layer: outputs and states in the compute dtype, sliced or not."""
    backend = Keras3Layer("jax")  # its worker is this process's JAX worker (layers.shared_worker)
    for layout in ("whole", "sliced"):
        example = a_sliced_mixed_example().changed(layer={"dtype_policy": policy, "weights_layout": layout,
                                                          "return_state": True})
        result = backend.run(example, "call")
        assert {str(np.asarray(a).dtype) for a in [result.outputs, *result.new_states]} == {dtype}
        float32 = backend.run(example.changed(layer={"dtype_policy": "float32"}), "call")
        assert str(np.asarray(float32.outputs).dtype) == "float32"
