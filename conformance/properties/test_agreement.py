"""Agreement with the reference on every output, state and shape (R1-R7, R12-R14).

The broadest property: any cell, any options, any mask. The explicit examples are the
regressions that motivated the suite (keras-team/keras#11472) and stay forever.
"""

from hypothesis import example, given

from cells.catalog import report_2018_example
from cells.strategies import examples
from conformance.judge.assertions import assert_agrees_with_reference
from conformance.judge.checks import contract_property
from conformance.judge.runs import expected, run_backend

EXAMPLES = examples()


@given(example=EXAMPLES)
@example(example=report_2018_example(repeats=1))
@example(example=report_2018_example(repeats=2))
@example(example=report_2018_example(repeats=1, unroll=True))
@example(example=report_2018_example(repeats=2, go_backwards=True, zero_output_for_mask=True))
@contract_property
def test_agrees_with_reference(target, example):
    actual = run_backend(target, example, rule="R2")
    assert_agrees_with_reference(actual, expected(example), example, target)
