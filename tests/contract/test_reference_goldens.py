"""The NumPy reference against values computed by hand, one scenario per contract rule.

Step functions here are written out literally (no cell specs) so each expected value can
be checked with pencil and paper.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from conformance.contract.reference import rnn


def echo_and_count(inputs, states):
    """The cell of keras-team/keras#11472: `return inputs, [s + 1 for s in states]`."""
    return inputs, [s + 1 for s in states]


def col(*values):
    """A (1, T, 1) sequence for one sample with one feature."""
    return np.array(values, dtype=float).reshape(1, -1, 1)


def test_2018_report_final_state_and_last_output():
    """R3, R4: inputs [1, 2, 0], last step masked, initial state 10 -> state 12, output 2."""
    last, outputs, states = rnn(echo_and_count, col(1, 2, 0), [np.array([[10.0]])], mask=np.array([[1, 1, 0]]))
    assert_array_equal(states[0], [[12.0]])
    assert_array_equal(last, [[2.0]])
    assert_array_equal(outputs, col(1, 2, 2))


@pytest.mark.parametrize("unroll", [False, True])
def test_2018_report_output_size_differs_from_state_size(unroll):
    """R2, R4: output = input twice (size 2), state size 1; carried output is [2, 2]."""

    def step(inputs, states):
        return np.concatenate([inputs, inputs], axis=-1), [s + 1 for s in states]

    last, outputs, states = rnn(step, col(1, 2, 0), [np.array([[10.0]])], mask=np.array([[True, True, False]]), unroll=unroll)
    assert_array_equal(last, [[2.0, 2.0]])
    assert_array_equal(outputs, [[[1, 1], [2, 2], [2, 2]]])
    assert_array_equal(states[0], [[12.0]])


def test_output_and_state_masking_are_independent():
    """R3, R4 (the 2018 fix): the output carries the output, the state carries the state."""

    def step(inputs, states):
        return 2 * inputs, [states[0] + inputs]

    last, outputs, states = rnn(step, col(1, 2, 3), [np.array([[10.0]])], mask=np.array([[1, 0, 1]]))
    # t0: out 2, s 11; t1 masked: out 2 (carried output, not s=11), s 11; t2: out 6, s 14.
    assert_array_equal(outputs, col(2, 2, 6))
    assert_array_equal(states[0], [[14.0]])
    assert_array_equal(last, [[6.0]])


def test_rank_3_outputs_and_states_are_masked_per_sample():
    """R3, R4, R14 (the 2018 fix): outputs (B, 2, 2) and states (B, 2, 3) under a mask."""

    def step(inputs, states):  # inputs (B, 1): output fills (2, 2) with x; state counts.
        return np.ones((inputs.shape[0], 2, 2)) * inputs[:, :, None], [states[0] + 1]

    x = np.array([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0]]])
    mask = np.array([[True, False, True], [False, True, False]])
    init = np.zeros((2, 2, 3))
    last, outputs, states = rnn(step, x, [init], mask=mask)
    # Sample 0: outputs 1, 1 (carried), 3; state counts 2 steps. Sample 1: 0 (nothing yet), 5, 5.
    expected = np.array([[1, 1, 3], [0, 5, 5]], dtype=float)[:, :, None, None] * np.ones((2, 3, 2, 2))
    assert_array_equal(outputs, expected)
    assert_array_equal(states[0], np.stack([np.full((2, 3), 2.0), np.full((2, 3), 1.0)]))
    assert_array_equal(last, expected[:, -1])


def test_leading_masked_step_emits_zeros_not_the_initial_state():
    """R4: before the first unmasked step the carried output is zeros, never states[0]."""

    def step(inputs, states):
        return states[0] + inputs, [states[0] + inputs]

    last, outputs, states = rnn(step, col(1, 2), [np.array([[10.0]])], mask=np.array([[False, True]]))
    assert_array_equal(outputs, col(0, 12))
    assert_array_equal(states[0], [[12.0]])


def test_fully_masked_row_keeps_its_state_and_emits_zeros():
    """R3, R4, R14: a row masked at every step keeps its initial state and emits zeros."""
    x = np.array([[[1.0], [2.0]], [[3.0], [4.0]]])
    last, outputs, states = rnn(echo_and_count, x, [np.array([[10.0], [20.0]])], mask=np.array([[1, 1], [0, 0]]))
    assert_array_equal(outputs, [[[1], [2]], [[0], [0]]])
    assert_array_equal(states[0], [[12.0], [20.0]])
    assert_array_equal(last, [[2.0], [0.0]])


def test_go_backwards_with_left_padded_mask():
    """R1, R5, R8: processing order 3, 2, 1, 0; the mask is read at original time."""
    last, outputs, states = rnn(
        echo_and_count, col(1, 2, 3, 4), [np.array([[10.0]])], mask=np.array([[0, 0, 1, 1]]), go_backwards=True
    )
    # Steps 3 and 2 are processed (outputs 4, 3), steps 1 and 0 are masked (carry 3).
    assert_array_equal(outputs, col(4, 3, 3, 3))
    assert_array_equal(last, [[3.0]])
    assert_array_equal(states[0], [[12.0]])


def test_zero_output_for_mask_zeroes_the_last_output_when_the_last_step_is_masked():
    """R4, R6: with zero_output_for_mask, masked steps emit zeros, last_output included."""
    last, outputs, states = rnn(
        echo_and_count, col(1, 2, 3), [np.array([[10.0]])], mask=np.array([[1, 1, 0]]), zero_output_for_mask=True
    )
    assert_array_equal(outputs, col(1, 2, 0))
    assert_array_equal(last, [[0.0]])
    assert_array_equal(states[0], [[12.0]])


def test_return_all_outputs_false_keeps_one_step():
    """R7: outputs is (B, 1, ...) and equals last_output[:, None]; the rest is unchanged."""
    last, outputs, states = rnn(echo_and_count, col(1, 2, 3), [np.array([[10.0]])], return_all_outputs=False)
    assert outputs.shape == (1, 1, 1)
    assert_array_equal(outputs, [[[3.0]]])
    assert_array_equal(last, [[3.0]])
    assert_array_equal(states[0], [[13.0]])


def test_time_major_transposes_inputs_mask_and_outputs():
    """R11: (T, B, ...) in, (T, B, ...) out, the same values as batch-major."""
    x = np.array([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0]]])  # (B=2, T=3, 1)
    mask = np.array([[1, 0, 1], [1, 1, 0]])
    init = [np.array([[0.0], [0.0]])]
    batch_major = rnn(echo_and_count, x, init, mask=mask)
    last, outputs, states = rnn(echo_and_count, x.swapaxes(0, 1), init, mask=mask.T, time_major=True)
    assert_array_equal(outputs, [[[1], [4]], [[1], [5]], [[3], [5]]])
    assert_array_equal(outputs, batch_major[1].swapaxes(0, 1))
    assert_array_equal(last, [[3.0], [5.0]])
    assert_array_equal(states[0], [[2.0], [2.0]])


def test_constants_reach_every_step_unchanged():
    """R2: states then constants, in every branch, masked or not."""
    seen = []

    def step(inputs, states_and_constants):
        state, constant = states_and_constants
        seen.append(constant.copy())
        return inputs + constant, [state + 1]

    last, outputs, states = rnn(step, col(1, 2), [np.array([[0.0]])], constants=[np.array([[100.0]])], mask=np.array([[1, 0]]))
    assert_array_equal(outputs, col(101, 101))
    assert [c.item() for c in seen] == [100.0, 100.0]


def test_nan_at_masked_steps_changes_nothing():
    """R9: NaN and inf at masked steps reach no output, state or last output."""
    mask = np.array([[1, 0, 0]])
    clean = rnn(echo_and_count, col(1, 2, 3), [np.array([[10.0]])], mask=mask)
    poisoned = rnn(echo_and_count, col(1, np.nan, np.inf), [np.array([[10.0]])], mask=mask)
    for a, b in zip(clean, poisoned):
        assert_array_equal(a if not isinstance(a, list) else a[0], b if not isinstance(b, list) else b[0])
    assert_array_equal(poisoned[1], col(1, 1, 1))


@pytest.mark.parametrize("mask", [np.array([[True, False]]), np.array([[1, 0]]), np.array([[1.0, 0.0]]), np.array([[[True], [False]]])])
def test_mask_formats_and_none_equals_all_true(mask):
    """R8: bool, 0/1 and (B, T, 1) masks are the same mask; None is all true."""
    _, outputs, _ = rnn(echo_and_count, col(1, 2), [np.array([[0.0]])], mask=mask)
    assert_array_equal(outputs, col(1, 1))
    unmasked = rnn(echo_and_count, col(1, 2), [np.array([[0.0]])])
    all_true = rnn(echo_and_count, col(1, 2), [np.array([[0.0]])], mask=np.ones((1, 2), bool))
    assert_array_equal(unmasked[1], all_true[1])


def test_unroll_and_input_length_are_hints():
    """R10, R12: neither changes a value."""
    base = rnn(echo_and_count, col(1, 2, 3), [np.array([[10.0]])], mask=np.array([[1, 0, 1]]))
    for kwargs in (dict(unroll=True), dict(input_length=3), dict(unroll=True, input_length=None)):
        other = rnn(echo_and_count, col(1, 2, 3), [np.array([[10.0]])], mask=np.array([[1, 0, 1]]), **kwargs)
        assert_array_equal(other[1], base[1])
        assert_array_equal(other[2][0], base[2][0])


def test_nested_inputs_outputs_and_several_states():
    """R2, R13, R14: nested inputs and outputs; states of different ranks keep structure."""

    def step(inputs, states):
        a, b = inputs  # (B, 1) and (B, 2)
        small, big = states  # (B, 1) and (B, 2, 2)
        return (a + 1, b * 2), [small + a, big + 1]

    x = (col(1, 2), np.array([[[1.0, 2.0], [3.0, 4.0]]]))
    init = [np.array([[0.0]]), np.zeros((1, 2, 2))]
    last, outputs, states = rnn(step, x, init, mask=np.array([[1, 0]]))
    assert isinstance(outputs, tuple) and len(outputs) == 2
    assert_array_equal(outputs[0], col(2, 2))
    assert_array_equal(outputs[1], [[[2, 4], [2, 4]]])
    assert [s.shape for s in states] == [(1, 1), (1, 2, 2)]
    assert_array_equal(states[0], [[1.0]])
    assert_array_equal(states[1], np.ones((1, 2, 2)))


def test_cell_without_state_and_single_step():
    """R13, R14: no state at all, B = 1, T = 1."""
    last, outputs, states = rnn(lambda x, s: (x * 3, []), col(2), [])
    assert_array_equal(outputs, col(6))
    assert states == []


def test_arguments_are_not_modified_and_dtypes_are_kept():
    """R13: the caller's arrays are unchanged; output dtypes are the step's dtypes."""
    x = col(1, 2).astype(np.float32)
    init = [np.array([[10.0]], dtype=np.float32)]
    mask = np.array([[1, 0]], dtype=bool)
    copies = [x.copy(), init[0].copy(), mask.copy()]
    last, outputs, states = rnn(echo_and_count, x, init, mask=mask)
    for before, after in zip(copies, [x, init[0], mask]):
        assert_array_equal(before, after)
    assert outputs.dtype == last.dtype == states[0].dtype == np.float32


def test_samples_are_independent():
    """R13: a sample's results do not depend on the other samples of the batch."""
    x = np.array([[[1.0], [2.0]], [[3.0], [4.0]]])
    init = [np.array([[10.0], [20.0]])]
    mask = np.array([[1, 0], [0, 1]])
    together = rnn(echo_and_count, x, init, mask=mask)
    for b in range(2):
        alone = rnn(echo_and_count, x[b : b + 1], [init[0][b : b + 1]], mask=mask[b : b + 1])
        assert_array_equal(alone[1], together[1][b : b + 1])
        assert_array_equal(alone[2][0], together[2][0][b : b + 1])
