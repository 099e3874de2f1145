"""The areas of the contract: the columns of the divergence matrix.

A user reads the matrix as "where does my loop break": masking, go_backwards, unrolling,
nesting... so every result is shown in areas, once:

- a divergence (new, declared or fixed) in the one area of its rule (`RULE_AREAS`), so one
  bug shows in one column whatever its minimal example looks like. R1 (steps and their
  order) and R2 (what the step receives) are the only rules without an area of their
  own: their text spans several areas, and for them alone the shrunk minimal example
  chooses among those areas (`SPLIT_RULES`): shrinking drops every option the failure
  does not need, so an option still set is part of the cause. A rule id not in the
  contract ("unclassified": a failure that could not be pinned to a rule) is in "core";
- a property that ran, in the areas it covers (`PROPERTY_AREAS`), less the areas of
  options the backend's API lacks (contract section 4: its examples keep them at the
  default, so a pass says nothing about them).

zero-out, rank>2 and edge have no rule that is theirs alone: they show what the
properties that draw those options and sizes found; a divergence there is in its rule's
area (a zero_output_for_mask bug breaks R4: mask-out).
"""

from conformance.known.facts import example_facts

AREAS = (
    ("mask-out", "masked outputs, the mask itself, inert masked steps (R4, R8, R9)"),
    ("mask-state", "masked states (R3)"),
    ("backwards", "go_backwards: output order (R5; R1 when its minimal example runs backwards)"),
    ("zero-out", "zero_output_for_mask (no rule of its own: its divergences break R4, in mask-out)"),
    ("ret-all", "return_all_outputs (R7)"),
    ("unroll", "unroll agreement (R10)"),
    ("t-major", "time_major (R11; R1 when its minimal example is time-major)"),
    ("consts", "constants (R2 when its minimal example has constants)"),
    ("nested", "nested inputs and outputs (R2 when its minimal example is nested)"),
    ("rank>2", "states and outputs of rank > 2 (R2 when its minimal example needs them)"),
    ("edge", "B = 1, T = 1, size-1 states, fully masked rows (R14)"),
    ("core", "steps, step calls, last output, hints, structure, independence (R1, R2, R6, R12, R13; unclassified)"),
    ("grad", "gradients: agreement with the reference, invariance (G1, G4; L7 on the layer)"),
    ("grad-mask", "gradients through masked steps: none into masked inputs, masked steps inert (G2, G3)"),
    ("layer", "the RNN layer: its outputs, initial states, state sizes, Bidirectional, stacked cells (L1, L2, L4-L6)"),
    ("routes", "mask routes of the layer, and the mask it hands on to the next (L3, L8)"),
    ("precision", "float16, bfloat16 and mixed policies: within the low-precision tolerance, exact where the contract is (section 3)"),
    ("stateful", "a stateful layer carries its states from batch to batch, and reset_states() starts again (L9)"),
)
AREA_IDS = tuple(area for area, _ in AREAS)
GRADIENT_AREAS = ("grad", "grad-mask")
LAYER_ONLY_AREAS = ("layer", "routes", "stateful")
# What forward agreement in float32 and float64 vouches for: not the layer's own areas, not
# gradients, not low precision (its own properties, section 3).
_FORWARD_AREAS = tuple(a for a in AREA_IDS if a not in GRADIENT_AREAS + LAYER_ONLY_AREAS + ("precision",))

PROPERTY_AREAS = {
    "test_agreement::test_agrees_with_reference": _FORWARD_AREAS,
    "test_hints::test_unroll_gives_the_same_results": ("unroll",),
    "test_hints::test_input_length_is_a_hint": ("core",),
    "test_layout::test_time_major_is_the_transpose": ("t-major",),
    "test_layout::test_go_backwards_is_running_on_reversed_inputs": ("backwards",),
    "test_masking::test_all_true_mask_equals_no_mask": ("mask-out", "mask-state"),
    "test_masking::test_mask_formats_agree": ("mask-out", "mask-state"),
    "test_masking::test_masked_inputs_are_inert": ("mask-out", "mask-state"),
    "test_structure::test_shapes_and_dtypes": ("core", "rank>2", "nested"),
    "test_structure::test_last_output_is_the_last_emitted_output": ("core", "zero-out"),
    "test_structure::test_return_all_outputs_false_keeps_only_the_last_step": ("ret-all",),
    "test_structure::test_samples_are_independent": ("core",),
    "test_structure::test_arguments_are_not_modified": ("core",),
    "test_precision::test_low_precision_agrees_with_reference": ("precision",),
    "test_precision::test_low_precision_is_exact_where_the_contract_is_exact": ("precision",),
    "test_layer::test_layer_agrees_with_reference": tuple(a for a in AREA_IDS if a not in GRADIENT_AREAS + ("routes", "precision")),
    "test_layer::test_mask_routes_agree": ("routes",),
    "test_layer::test_bidirectional_agrees_with_reference": ("layer",),
    "test_layer::test_stacked_cells_agree_with_reference": ("layer",),
    "test_layer::test_2018_report": ("mask-out", "routes"),
    "test_layer_stacks::test_stacked_layers_hand_on_the_mask": ("routes",),
    "test_gradients::test_gradients_agree_with_reference": GRADIENT_AREAS,
    "test_gradients::test_masked_steps_are_inert_for_gradients": ("grad-mask",),
    "test_gradients::test_gradients_are_invariant": GRADIENT_AREAS,
    "test_layer_gradients::test_layer_gradients_agree_with_reference": GRADIENT_AREAS,
    "test_layer_gradients::test_training_step_follows_reference_gradient": ("grad",),
    # The built-in layers (issue 41), on the built-in rows.
    "test_builtin_layers::test_builtin_layer_agrees_with_reference": tuple(a for a in AREA_IDS if a not in GRADIENT_AREAS + ("routes", "precision")),
    "test_builtin_layers::test_builtin_mask_routes_agree": ("routes",),
    "test_builtin_layers::test_builtin_bidirectional_agrees_with_reference": ("layer",),
    "test_builtin_layers::test_builtin_stack_hands_on_the_mask": ("routes",),
    "test_builtin_layers::test_builtin_stateful_layer_carries_its_states": ("stateful",),
    "test_builtin_layers::test_builtin_layer_gradients_agree_with_reference": GRADIENT_AREAS,
    # A layer under a dtype policy (issue 40): the precision area, on the layer rows.
    "test_layer_precision::test_layer_under_a_dtype_policy_agrees_with_reference": ("precision",),
    "test_layer_precision::test_layer_gradients_under_a_dtype_policy_agree_with_reference": ("precision",),
    "test_layer_precision::test_training_step_under_a_dtype_policy_follows_reference_gradient": ("precision",),
}

# A pass says nothing about an option the backend's API lacks (contract section 4): its
# examples keep it at the default, so that column stays "-" for such a backend.
AREA_OF_OPTION = {"zero_output_for_mask": "zero-out", "return_all_outputs": "ret-all", "time_major": "t-major"}

RULE_AREAS = {
    "R1": "core", "R2": "core", "R3": "mask-state", "R4": "mask-out", "R5": "backwards",
    "R6": "core", "R7": "ret-all", "R8": "mask-out", "R9": "mask-out", "R10": "unroll",
    "R11": "t-major", "R12": "core", "R13": "core", "R14": "edge",
    "L1": "layer", "L2": "layer", "L3": "routes", "L4": "layer", "L5": "layer", "L6": "layer", "L8": "routes", "L9": "stateful",
    "G1": "grad", "G2": "grad-mask", "G3": "grad-mask", "G4": "grad", "L7": "grad",
}
UNCLASSIFIED = "unclassified"  # the rule of a failure that names no contract rule

# The rules without an area of their own: (area, the minimal example's fact that puts it
# there), first match wins; otherwise the rule's entry in RULE_AREAS.
SPLIT_RULES = {
    "R1": (("t-major", lambda f: f["time_major"]), ("backwards", lambda f: f["go_backwards"])),
    "R2": (
        ("nested", lambda f: f["nested_inputs"] or f["nested_output"]),
        ("consts", lambda f: f["constants"] > 0),
        ("rank>2", lambda f: f["max_state_rank"] > 1 or f["max_output_rank"] > 1),
    ),
}


def areas_covered(property_id, unsupported_options=(), unreachable_areas=()):
    """The areas a property that ran vouches for (none for an unknown property), less
    those of options the backend lacks and those it never reaches (Backend.unreachable_areas)."""
    lacking = {AREA_OF_OPTION[o] for o in unsupported_options if o in AREA_OF_OPTION} | set(unreachable_areas)
    return tuple(a for a in PROPERTY_AREAS.get(property_id, ()) if a not in lacking)


def area_of_rule(rule, example=None):
    """The one area a divergence of `rule` is shown in (see the module docstring); any
    divergence of a float16, bfloat16 or mixed-policy example is in "precision", where
    the rest of the contract was seen to hold."""
    facts = example_facts(example) if example is not None else None
    if facts is not None and facts["precision"] != "full":
        return "precision"
    if rule in SPLIT_RULES and facts is not None:
        for area, holds in SPLIT_RULES[rule]:
            if holds(facts):
                return area
    return RULE_AREAS.get(rule, "core")
