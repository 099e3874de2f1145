"""A loop with two planted root causes, for `rnn-conformance soak`'s own test.

It is tests/impls/numpy_rnn.py's correct loop, except that it crashes in two regions of
the option space, each with its own message (whose numbers vary with the example, as real
crash texts do): the soak must report exactly two groups, each with a condition over the
facts that covers its members.
"""

import numpy as np

from numpy_rnn import rnn as correct_rnn

PLANTED = {
    "A": "go_backwards and mask",  # what soak's proposed condition must cover
    "B": "unroll and steps >= 3",
}


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, unroll=False, **options):
    steps = np.shape(_first_leaf(inputs))[0 if options.get("time_major") else 1]
    if go_backwards and mask is not None:
        raise ValueError(f"planted A: cannot reverse a mask of {steps} steps")
    if unroll and steps >= 3:
        raise RuntimeError(f"planted B: unrolled {steps} steps, at most 2 supported")
    return correct_rnn(step_function, inputs, initial_states, go_backwards=go_backwards, mask=mask, unroll=unroll, **options)


def _first_leaf(inputs):
    while isinstance(inputs, (list, tuple, dict)):
        inputs = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs[0]
    return inputs
