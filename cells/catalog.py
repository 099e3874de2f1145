"""Hand-written cells and examples that matter by name: the cases of the 2018 report.

keras-team/keras#11472: a custom cell `return inputs, [s + 1 for s in states]`, inputs
[[1], [2], [0]] with the last step masked and initial state 10. The correct loop ends
with state 12 and last output 2; the faulty one emitted states[0] at the masked step.
The variant outputs the input twice (output size 2, state size 1).
"""

import numpy as np

from cells.example import Example, Options
from cells.spec import CellSpec, CellStructure, OutputSpec, StateSpec


def report_2018_spec(repeats=1, dtype="float32"):
    """`return concat([inputs] * repeats), [s + 1 for s in states]`; input and state size 1."""
    structure = CellStructure(
        input_shapes=((1,),),
        states=(StateSpec((1,), kind="counter"),),
        outputs=(OutputSpec((repeats,), kind="echo", activation="linear"),),
        hidden=1,
        dtype=dtype,
    )
    # The hidden layer exists in every cell; this cell ignores it.
    return CellSpec(structure, weights=((0.5, 0.5), (0.5,)))


def report_2018_example(repeats=1, dtype="float32", **options):
    """The report's data: inputs [[1], [2], [0]], last step masked, initial state 10."""
    return Example(
        spec=report_2018_spec(repeats, dtype),
        options=Options(**options),
        inputs=(np.array([[[1.0], [2.0], [0.0]]], dtype=dtype),),
        initial_states=(np.array([[10.0]], dtype=dtype),),
        constants=(),
        mask=np.array([[True, True, False]]),
        mask_family="right-padded",
    )
