"""L9's check of one stateful built-in layer (issue 41): each batch, and the first again
after reset_states(), against conformance/contract/stateful_reference.py."""

from conformance.contract.stateful_reference import batches_of, stateful_outputs
from conformance.contract.values import Result
from conformance.judge.assertions import Divergence, assert_same_results
from conformance.judge.runs import crashes_as_divergences


def check_stateful(target, example, cuts):
    """A crash is a divergence of L9; so is any batch that differs from the layer started
    from the states the batch before ended with (the failure says which batch)."""
    returned = crashes_as_divergences(target, example, "L9", lambda: target.backend.run_stateful(example, target.mode, cuts))
    expected = stateful_outputs(example, cuts)
    batches = batches_of(example, cuts)
    layouts = batches + [batches[0]]
    if len(returned) != len(expected):
        raise Divergence("L9", f"{len(returned)} calls came back for {len(expected)} batches", example=example, target=target)
    for k, (got, want, layout) in enumerate(zip(returned, expected, layouts)):
        which = f"batch {k + 1} of {len(batches)}" if k < len(batches) else "the first batch again after reset_states()"
        relation = (f"{which} (the time axis cut at {list(cuts)}) differs from the layer started from "
                    + ("zeros" if k in (0, len(batches)) else "the states the batch before ended with"))
        try:
            assert_same_results(got, Result(last_output=[], outputs=want[0], new_states=want[1:]), layout, target, "L9", relation)
        except Divergence as divergence:
            divergence.example = example  # the stateful example (with its cuts, drawn) is the case
            raise
