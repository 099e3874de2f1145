"""Layout and direction: time_major is a transpose (R11); go_backwards is a reversal (R1, R5, R8)."""

import numpy as np
import optree
from hypothesis import given

from cells.strategies import examples, options
from conformance.assertions import assert_same_results
from conformance.backends.base import Result
from conformance.runs import run_backend


@given(example=examples(option_strategy=options(time_major=False)))
def test_time_major_is_the_transpose(target, example):
    """R11: time_major=True returns the batch-major outputs with axes 0 and 1 swapped."""
    time_major = example.changed(options={"time_major": True})
    result = run_backend(target, time_major, rule="R11")
    transposed_back = Result(
        result.last_output, optree.tree_map(lambda x: np.swapaxes(x, 0, 1), result.outputs), result.new_states
    )
    assert_same_results(
        transposed_back,
        run_backend(target, example, rule="R11"),
        example,
        target,
        "R11",
        "time_major=True is not the transpose of time_major=False",
    )


@given(example=examples(option_strategy=options(go_backwards=True)))
def test_go_backwards_is_running_on_reversed_inputs(target, example):
    """R1, R5, R8: go_backwards equals a forward run on time-reversed inputs and mask."""
    reversed_inputs = example.changed(
        inputs=tuple(np.ascontiguousarray(x[:, ::-1]) for x in example.inputs),
        mask=None if example.mask is None else np.ascontiguousarray(example.mask[:, ::-1]),
        options={"go_backwards": False},
    )
    assert_same_results(
        run_backend(target, example, rule="R5"),
        run_backend(target, reversed_inputs, rule="R5"),
        example,
        target,
        "R5",
        "go_backwards differs from a forward run on reversed inputs and mask",
    )
