"""A loop whose one planted fault comes and goes with the release of a made-up library
beside it (`plantedlib`, which tests/known/test_known_update.py writes): what a fix, a change and
a regression in a development version look like to the ledger.

`plantedlib.FAULT` picks the release's behaviour: "backwards" crashes on a mask under
go_backwards (the declared bug), None is the fixed loop (tests/impls/numpy_rnn.py's
correct one), "other" crashes there in another way (CHANGED), "masked" crashes on every
mask (the declared bug reaching further: a condition to widen).
"""

import plantedlib

from numpy_rnn import rnn as correct_rnn

DECLARED = "planted: cannot reverse a mask"


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, **options):
    fault = plantedlib.FAULT
    if mask is not None and (fault == "masked" or fault == "backwards" and go_backwards):
        raise ValueError(DECLARED)
    if mask is not None and go_backwards and fault == "other":
        raise RuntimeError("planted: a mask of the wrong rank")
    return correct_rnn(step_function, inputs, initial_states, go_backwards=go_backwards, mask=mask, **options)
