"""Every property can fail: each is run against a faulty loop that breaks its rule.

A property that passed on all of these would be vacuous. The faulty loops are mutants of
the catalog in `conformance.research.mutants`; each pairing below says which property must reject
which mutant, and with which rule. Each runs on the derandomized `ci` sample, whatever the
profile: a kill must not rest on a random draw (under `dev`, 20 random examples missed the
masked step that `unroll-flips-zero-output` needs in 12 runs of 200); exploring
other draws is `rnn-conformance soak`'s job.
"""

import dataclasses

import numpy as np
import optree
import pytest

from conformance.properties import test_agreement
from conformance.properties import test_hints
from conformance.properties import test_layout
from conformance.properties import test_masking
from conformance.properties import test_precision
from conformance.properties import test_structure
from conformance.judge.assertions import Divergence, divergences_in
from conformance.backends.numpy_function import NumpyFunctionBackend
from conformance.research.mutants import MUTANTS
from conformance.judge.targets import Target

KILLS = [
    # (mutant, property, rule the failure must name)
    ("mask-not-reversed-with-go-backwards", test_layout.test_go_backwards_is_running_on_reversed_inputs, "R5"),
    ("mask-not-reversed-with-go-backwards", test_agreement.test_agrees_with_reference, "R8"),
    # outputs in original time order: R5, though the values differ at processed steps
    ("backward-outputs-in-original-order", test_agreement.test_agrees_with_reference, "R5"),
    ("mask-reduced-over-batch", test_structure.test_samples_are_independent, "R13"),
    ("nan-leaks-through-blending", test_masking.test_masked_inputs_are_inert, "R9"),
    ("numeric-mask-ignored", test_masking.test_mask_formats_agree, "R8"),
    ("masked-path-takes-first-output", test_masking.test_all_true_mask_equals_no_mask, "R8"),
    ("masked-output-from-states0", test_agreement.test_agrees_with_reference, "R4"),
    ("masked-path-takes-first-output", test_structure.test_last_output_is_the_last_emitted_output, "R6"),
    ("unroll-flips-zero-output", test_hints.test_unroll_gives_the_same_results, "R10"),
    ("input-length-off-by-one", test_hints.test_input_length_is_a_hint, "R12"),
    ("time-major-outputs-left-batch-major", test_layout.test_time_major_is_the_transpose, "R11"),
    ("time-major-runs-batch-size-steps", test_layout.test_time_major_is_the_transpose, "R11"),
    ("return-all-outputs-ignored", test_structure.test_shapes_and_dtypes, "R7"),
    ("return-all-outputs-ignored", test_structure.test_return_all_outputs_false_keeps_only_the_last_step, "R7"),
    ("states-written-in-place", test_structure.test_arguments_are_not_modified, "R13"),
    ("states-change-dtype", test_structure.test_shapes_and_dtypes, "R13"),
    # low precision (section 3): right in float32 and float64, wrong in float16 and bfloat16
    ("half-path-carries-in-float32", test_precision.test_low_precision_agrees_with_reference, "R13"),
    ("masked-carry-by-arithmetic", test_precision.test_low_precision_is_exact_where_the_contract_is_exact, "R3"),
    ("half-path-multiplies-by-mask", test_precision.test_low_precision_is_exact_where_the_contract_is_exact, "R9"),
]


@pytest.mark.parametrize(
    "mutant, property_test, rule", KILLS, ids=[f"{m}-by-{p.__name__}" for m, p, _ in KILLS]
)
def test_property_rejects_mutant(mutant, property_test, rule, ci_profile_without_shrinking):
    faulty = Target(NumpyFunctionBackend(mutant, MUTANTS[mutant].rnn), "eager")
    with pytest.raises((Divergence, BaseExceptionGroup)) as failure:
        property_test(target=faulty)
    rules = {d.rule for d in divergences_in(failure.value)}
    assert rule in rules, f"{mutant} was rejected, but for {rules}, not {rule}: {failure.value}"


def test_every_property_is_paired_with_a_mutant():
    """Each function-level property is shown to fail at least once (the mutation score,
    tests/research/test_mutants.py, asks the converse: that every mutant is killed)."""
    from conformance.research.mutation import PROPERTY_ORDER

    assert {p for _, p, _ in KILLS} == set(PROPERTY_ORDER)
    assert {m for m, _, _ in KILLS} <= set(MUTANTS)


@pytest.mark.parametrize("property_test", sorted({p for _, p, _ in KILLS}, key=lambda p: p.__name__))
def test_the_reference_passes_every_property(property_test):
    """Control: the unmutated loop passes, so the failures above are the mutants' doing."""
    from conformance.backends import get_backend

    property_test(target=Target(get_backend("reference"), "eager"))


def test_a_transposed_comparison_reads_positions_batch_major():
    """Regression: after the time-major run is transposed back, differing positions are
    (B, T); reading them as (T, B) raised IndexError instead of reporting R11 (B=1, T=3)."""
    from cells.catalog import report_2018_example

    mutant = "time-major-runs-batch-size-steps"
    faulty = Target(NumpyFunctionBackend(mutant, MUTANTS[mutant].rnn), "eager")
    with pytest.raises(Divergence) as failure:
        test_layout.test_time_major_is_the_transpose.hypothesis.inner_test(target=faulty, example=report_2018_example())
    assert failure.value.rule == "R11"
    assert "at (0, 1, 0)" in str(failure.value)


def test_a_value_that_differs_before_any_masked_step_names_the_step_calls():
    """CONTRACT.md section 3: a masked step changes nothing before it, so a wrong output at
    a step no masked step precedes names R2; a wrong carried state names R3; a wrong
    output at the masked step itself names R4 (the 2018 example: time 2 masked)."""
    from cells.catalog import report_2018_example
    from conformance.judge.assertions import compare
    from conformance.judge.runs import expected

    example = report_2018_example()
    contract = expected(example)

    def named(outputs_at=None, states=False):
        outputs = [np.array(o, copy=True) for o in optree.tree_leaves(contract.outputs)]
        if outputs_at is not None:
            outputs[0][:, outputs_at] += 1.0
        new_states = [np.array(s, copy=True) + (1.0 if states else 0.0) for s in optree.tree_leaves(contract.new_states)]
        wrong = dataclasses.replace(contract, outputs=outputs if len(outputs) > 1 else outputs[0], new_states=new_states)
        return compare(wrong, contract, example)[0].rule

    assert named(outputs_at=0) == "R2"
    assert named(outputs_at=2) == "R4"
    assert named(states=True) == "R3"
