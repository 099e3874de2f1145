"""Options that must not change results: `unroll` (R10) and `input_length` (R12)."""

from hypothesis import given

from cells.strategies import examples, options
from conformance.judge.checks import contract_property
from conformance.judge.runs import assert_equivalent_runs

EXAMPLES_UNROLLED_FALSE = examples(option_strategy=options(unroll=False))


@given(example=EXAMPLES_UNROLLED_FALSE)
@contract_property
def test_unroll_gives_the_same_results(target, example):
    """R10: unroll=True and unroll=False agree, in every combination of the other options."""
    unrolled = example.changed(options={"unroll": True})
    assert_equivalent_runs(target, example, unrolled, "R10", "unroll=True differs from unroll=False")


@given(example=examples(option_strategy=options(pass_input_length=False)))
@contract_property
def test_input_length_is_a_hint(target, example):
    """R12: input_length=T gives what input_length=None gives."""
    with_length = example.changed(options={"pass_input_length": True})
    assert_equivalent_runs(target, example, with_length, "R12", "input_length=T differs from input_length=None")
