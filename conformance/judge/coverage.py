"""Which areas of the contract a property's sample contained: coverage by construction.

A property that passes "with 4 examples" says nothing of an area none of them was in: a
gate whose gradient sample never had a constant passes a loop that drops every gradient
of a constant (issue 37). So each property lists the areas its sample must contain
(`MUST_CONTAIN`, the matrix's area ids), each area says which examples are in it
(`IN_AREA`, over the example's facts, after the target reset what its API lacks), and:

- every example a property runs is recorded in the areas it is in (`Coverage`, an example
  observer of conformance.judge.checks);
- after the property's drawn sample, each applicable area still empty gets a top-up run
  (conformance/harness/covering.py): the same Hypothesis test, its examples kept only where they
  are in an empty area (`assume` in conformance.judge.checks.contract_property), so shrinking
  works as ever and the drawn sample itself is unchanged;
- an area still empty after that is reported uncovered: the matrix shows it and the run
  is "incomplete" (exit status 6), never a pass.

An area is applicable to a property on a target unless the target's API lacks its option
(contract section 4, `areas.AREA_OF_OPTION`).
"""

import contextlib

import numpy as np

from conformance.results.areas import AREA_IDS, AREA_OF_OPTION
from conformance.known.facts import example_facts

# What puts an example in an area: the area's option set, or the thing it is about present.
IN_AREA = {
    "mask-out": lambda f: f["masked"],
    "mask-state": lambda f: f["masked"] and f["states"] > 0,
    # (an order, a last step or an unrolled loop needs two steps or more to be seen)
    "backwards": lambda f: f["go_backwards"] and f["steps"] > 1,
    "zero-out": lambda f: f["zero_output_for_mask"] and f["masked"],
    "ret-all": lambda f: not f["return_all_outputs"] and f["steps"] > 1,
    "unroll": lambda f: f["unroll"] and f["steps"] > 1,
    "t-major": lambda f: f["time_major"],
    "consts": lambda f: f["constants"] > 0,
    "nested": lambda f: f["nested_inputs"] or f["nested_output"],
    # under a mask: where a rank above 2 matters (the mask broadcast over it, R3, R4; keras#11498)
    "rank>2": lambda f: (f["max_state_rank"] > 1 or f["max_output_rank"] > 1) and f["masked"],
    "edge": lambda f: f["batch"] == 1 or f["steps"] == 1 or f["fully_masked_row"],
    # an ordinary example that carries a state (and so, for a gradient, an initial state to differentiate)
    "core": lambda f: f["states"] > 0,
    "layer": lambda f: f["layer"] and (f["return_state"] or f["initial_state"] or f["bidirectional"] or f["stacked"] > 0),
    "routes": lambda f: f["mask_route"] != "none" and f["masked"],
    "precision": lambda f: f["precision"] != "full",
}
assert set(IN_AREA) <= set(AREA_IDS)

# Every area the `rnn` function's strategies draw, and every area the `RNN` layer's do
# (its cells have one rank-1 input, no constants and one output; it has no time_major).
FUNCTION_AREAS = ("core", "mask-out", "mask-state", "backwards", "zero-out", "ret-all", "unroll", "t-major",
                  "consts", "nested", "rank>2", "edge")
LAYER_AREAS = ("core", "mask-out", "mask-state", "backwards", "zero-out", "ret-all", "unroll", "edge", "layer", "routes")


# The areas a property's relation fixes itself, so its strategy never draws them: the
# unroll relation sets unroll, time_major's transpose sets time_major, the all-true-mask
# relation masks nothing (nor a rank above 2 under a mask), the last-step properties set return_all_outputs=False, and
# every layer of a stack but the last returns its sequence; Bidirectional runs forward
# (L5 draws no go_backwards under it).
FIXED_BY_RELATION = {
    "test_structure::test_last_output_is_the_last_emitted_output": ("ret-all",),
    "test_structure::test_return_all_outputs_false_keeps_only_the_last_step": ("ret-all",),
    "test_masking::test_all_true_mask_equals_no_mask": ("mask-out", "mask-state", "zero-out", "rank>2"),
    "test_layout::test_time_major_is_the_transpose": ("t-major",),
    "test_hints::test_unroll_gives_the_same_results": ("unroll",),
    "test_layer::test_bidirectional_agrees_with_reference": ("backwards",),
    "test_layer_stacks::test_stacked_layers_hand_on_the_mask": ("ret-all",),
}
_FUNCTION_PROPERTIES = (
    "test_agreement::test_agrees_with_reference", "test_structure::test_shapes_and_dtypes",
    "test_structure::test_last_output_is_the_last_emitted_output",
    "test_structure::test_return_all_outputs_false_keeps_only_the_last_step",
    "test_structure::test_samples_are_independent", "test_structure::test_arguments_are_not_modified",
    "test_masking::test_all_true_mask_equals_no_mask", "test_masking::test_mask_formats_agree",
    "test_masking::test_masked_inputs_are_inert", "test_layout::test_time_major_is_the_transpose",
    "test_layout::test_go_backwards_is_running_on_reversed_inputs", "test_hints::test_unroll_gives_the_same_results",
    "test_hints::test_input_length_is_a_hint", "test_gradients::test_gradients_agree_with_reference",
    "test_gradients::test_masked_steps_are_inert_for_gradients", "test_gradients::test_gradients_are_invariant",
)
_LAYER_PROPERTIES = (
    "test_layer::test_layer_agrees_with_reference", "test_layer::test_mask_routes_agree",
    "test_layer::test_bidirectional_agrees_with_reference", "test_layer::test_stacked_cells_agree_with_reference",
    "test_layer_stacks::test_stacked_layers_hand_on_the_mask", "test_layer_gradients::test_layer_gradients_agree_with_reference",
    "test_layer_gradients::test_training_step_follows_reference_gradient",
)
# Low precision (section 3): every area of the function's examples, in float16 and bfloat16.
_PRECISION_PROPERTIES = {
    "test_precision::test_low_precision_agrees_with_reference": FUNCTION_AREAS + ("precision",),
    "test_precision::test_low_precision_is_exact_where_the_contract_is_exact": FUNCTION_AREAS + ("precision",),
}
# A layer under a dtype policy (issue 40): every area of the layer's examples, in precision.
_LAYER_PRECISION_PROPERTIES = {
    f"test_layer_precision::{name}": LAYER_AREAS + ("precision",)
    for name in ("test_layer_under_a_dtype_policy_agrees_with_reference",
                 "test_layer_gradients_under_a_dtype_policy_agree_with_reference",
                 "test_training_step_under_a_dtype_policy_follows_reference_gradient")
}
# The built-in layers (issue 41): the layer's areas and rank>2 (ConvLSTM's states), less what
# each relation fixes: L3 draws no ConvLSTM (a Masking layer masks it per position), L5 runs
# forward and draws no ConvLSTM, a stack's first layer returns its sequence and is no ConvLSTM, a stateful layer
# does not unroll (its batches are shorter than the sequence), L7 takes both mask routes (no ConvLSTM).
_BUILTIN_AREAS = LAYER_AREAS + ("rank>2",)
_BUILTIN_FIXED = {
    "test_builtin_layer_agrees_with_reference": (),
    "test_builtin_mask_routes_agree": ("rank>2",),
    "test_builtin_bidirectional_agrees_with_reference": ("backwards", "rank>2"),
    "test_builtin_stack_hands_on_the_mask": ("ret-all", "rank>2"),
    "test_builtin_stateful_layer_carries_its_states": ("unroll",),
    "test_builtin_layer_gradients_agree_with_reference": ("rank>2",),
}
_BUILTIN_PROPERTIES = {f"test_builtin_layers::{name}": tuple(a for a in _BUILTIN_AREAS if a not in fixed)
                       for name, fixed in _BUILTIN_FIXED.items()}
# The areas each property's sample must contain: every area its strategy draws, which is
# its level's areas less those its relation fixes. tests/judge/test_coverage.py draws from each
# property's own strategy and checks that this is exactly the set it reaches.
MUST_CONTAIN = {
    **{p: tuple(a for a in FUNCTION_AREAS if a not in FIXED_BY_RELATION.get(p, ())) for p in _FUNCTION_PROPERTIES},
    **{p: tuple(a for a in LAYER_AREAS if a not in FIXED_BY_RELATION.get(p, ())) for p in _LAYER_PROPERTIES},
    **_PRECISION_PROPERTIES,
    **_LAYER_PRECISION_PROPERTIES,
    **_BUILTIN_PROPERTIES,
}


# What an example whose every step is masked still exercises: the mask alone.
ALL_MASKED_AREAS = frozenset({"mask-out", "mask-state", "zero-out", "edge", "routes"})


def areas_of(example):
    """The areas (of IN_AREA) an example is in. An example whose every step is masked
    counts for the mask's areas only: its constants, nesting or states reach no result."""
    facts = example_facts(example)
    areas = frozenset(area for area, holds in IN_AREA.items() if holds(facts))
    mask = getattr(example, "mask", None)
    if mask is not None and not np.asarray(mask, bool).any():
        return areas & ALL_MASKED_AREAS
    return areas


def applicable(property_id, unsupported_options=(), unreachable_areas=()):
    """The areas a property's sample must contain on a backend lacking `unsupported_options`
    and never reaching `unreachable_areas` (Backend.unreachable_areas)."""
    lacking = {AREA_OF_OPTION[o] for o in unsupported_options if o in AREA_OF_OPTION} | set(unreachable_areas)
    return tuple(a for a in MUST_CONTAIN.get(property_id, ()) if a not in lacking)


def applicable_to(property_id, backend):
    """`applicable` for this backend's unsupported options and unreachable areas."""
    return applicable(property_id, backend.unsupported_options, getattr(backend, "unreachable_areas", ()))


class Coverage:
    """An example observer: the areas each (target id, property) ran examples in."""

    def __init__(self):
        self.seen = {}

    def __call__(self, target, failed, property_id=None, example=None, excused=False):
        if example is not None and property_id in MUST_CONTAIN:
            self.seen.setdefault((target.id, property_id), set()).update(areas_of(example))

    def covered(self, target, property_id):
        return frozenset(self.seen.get((target.id, property_id), ()))

    def missing(self, target, property_id):
        """The applicable areas no example of this property has been in yet, in order."""
        covered = self.covered(target, property_id)
        return tuple(a for a in applicable_to(property_id, target.backend) if a not in covered)


@contextlib.contextmanager
def steering(state, target, property_id, areas):
    """While a top-up runs in the RunState `state`: keep only examples of this target and
    property in `areas`."""
    previous, state.steer = state.steer, (target.id, property_id, frozenset(areas))
    try:
        yield
    finally:
        state.steer = previous


def wanted(steer, target, property_id, example):
    """False for an example a top-up run (the run's `steer`, conformance/harness/covering.py)
    would not run."""
    if steer is None or steer[:2] != (target.id, property_id):
        return True
    return bool(areas_of(example) & steer[2])
