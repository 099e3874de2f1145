"""Layout and direction: time_major is a transpose (R11); go_backwards is a reversal (R1, R5, R8)."""

import numpy as np
import optree
import pytest
from hypothesis import given

from cells.strategies import examples, options
from conformance.backends.base import Result
from conformance.judge.checks import contract_property
from conformance.judge.runs import assert_equivalent_runs


@pytest.mark.needs_options("time_major")
@given(example=examples(option_strategy=options(time_major=False)))
@contract_property
def test_time_major_is_the_transpose(target, example):
    """R11: time_major=True returns the batch-major outputs with axes 0 and 1 swapped."""
    time_major = example.changed(options={"time_major": True})

    def transpose_outputs(result):
        outputs = optree.tree_map(lambda x: np.swapaxes(x, 0, 1), result.outputs)
        return Result(result.last_output, outputs, result.new_states)

    relation = "time_major=True is not the transpose of time_major=False"
    assert_equivalent_runs(target, example, time_major, "R11", relation, adjust=transpose_outputs)


@given(example=examples(option_strategy=options(go_backwards=True)))
@contract_property
def test_go_backwards_is_running_on_reversed_inputs(target, example):
    """R1, R5, R8: go_backwards equals a forward run on time-reversed inputs and mask."""
    reversed_inputs = example.changed(
        inputs=tuple(np.ascontiguousarray(x[:, ::-1]) for x in example.inputs),
        mask=None if example.mask is None else np.ascontiguousarray(example.mask[:, ::-1]),
        options={"go_backwards": False},
    )
    relation = "go_backwards differs from a forward run on reversed inputs and mask"
    assert_equivalent_runs(target, reversed_inputs, example, "R5", relation)
