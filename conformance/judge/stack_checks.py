"""L8's check of one stack of layers: as built against the same stack given the masks L8
says. Used by the stack property (conformance/properties/test_layer_stacks.py) and by a user's cell
as the first layer of a stack (conformance/properties/test_user_cell.py)."""

from conformance.judge.assertions import Divergence, assert_same_results
from conformance.judge.runs import run_backend

RELATION = "the stack differs from the same stack given, at each later layer, the mask L8 says it is handed"


def check_hand_on(target, example):
    """The stack as built and the stack with every later layer given, as its `mask=`, the
    mask L8 says, agree: in their results, or in crashing the same way (a layer's own crash
    that both meet says nothing of the mask handed on; a crash only one meets does)."""
    explicit = example.changed(mask_each_layer=True, stack_build="functional")
    as_built, as_built_crash = outcome(target, example)
    given_masks, given_masks_crash = outcome(target, explicit)
    if as_built_crash is not None or given_masks_crash is not None:
        if as_built_crash is not None and given_masks_crash is not None and as_built_crash.crash == given_masks_crash.crash:
            return  # a layer's own crash, met the same way whatever mask it was handed (L1-L7)
        crash = as_built_crash or given_masks_crash
        crash.add_note("Only the stack " + ("as built" if as_built_crash is not None else "given the masks L8 says")
                       + " crashed; the other ran: the mask handed on makes the difference (L8).")
        crash.runs = (example, explicit)
        raise crash
    assert_same_results(as_built, given_masks, example, target, "L8", RELATION, layout=last_layer(example),
                        runs=(example, explicit))


def outcome(target, example):
    """(the Result, None), or (None, the crash as a Divergence)."""
    try:
        return run_backend(target, example, "L8"), None
    except Divergence as divergence:
        if divergence.crash is None:
            raise
        return None, divergence


def last_layer(example):
    """What the stack returns is the last layer's: its layout (what it returns, no mask to
    read positions by) is the one both results are compared in."""
    if not example.next_layers:
        return example
    return example.next_layers[-1].alone(example.inputs[0], None, "none")
