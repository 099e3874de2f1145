"""The areas of the contract: the columns of the divergence matrix.

A user reads the matrix as "where does my loop break": masking, go_backwards, unrolling,
nesting... Rules and properties do not map one to one onto such areas (the agreement
property covers all of them), so a result is placed by what it is about:

- a failure by its rule and by the facts of its shrunk minimal example: shrinking drops
  every option the failure does not need, so an option still set in the minimal example
  (go_backwards, constants, a nested output...) is part of the cause;
- a pass by the areas its property covers (`PROPERTY_AREAS`).
"""

from conformance.facts import example_facts

AREAS = (
    ("mask-out", "masking of outputs (R4, R8, R9)"),
    ("mask-state", "masking of states (R3)"),
    ("backwards", "go_backwards (R1, R5)"),
    ("zero-out", "zero_output_for_mask (R4, R6)"),
    ("ret-all", "return_all_outputs / return_sequences (R7, L1)"),
    ("unroll", "unroll agreement (R10)"),
    ("t-major", "time_major (R11)"),
    ("consts", "constants (R2)"),
    ("nested", "nested inputs and outputs (R2)"),
    ("rank>2", "states and outputs of rank > 2 (R3, R4)"),
    ("edge", "B = 1, T = 1, size-1 states (R14)"),
    ("core", "steps, step calls, shapes, dtypes, independence (R1, R2, R6, R12, R13)"),
    ("layer", "the RNN layer: initial states, Bidirectional, stacked cells (L1, L2, L4-L6)"),
    ("routes", "mask routes of the layer (L3)"),
)
AREA_IDS = tuple(area for area, _ in AREAS)
_FUNCTION_AREAS = AREA_IDS[:-2]

PROPERTY_AREAS = {
    "test_agreement::test_agrees_with_reference": _FUNCTION_AREAS,
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
    "test_layer::test_layer_agrees_with_reference": AREA_IDS[:-1],
    "test_layer::test_mask_routes_agree": ("routes",),
    "test_layer::test_bidirectional_agrees_with_reference": ("layer",),
    "test_layer::test_stacked_cells_agree_with_reference": ("layer",),
    "test_layer::test_2018_report": ("mask-out", "routes"),
}

# A pass says nothing about an option the backend's API lacks (contract section 4): its
# examples keep it at the default, so that column stays "-" for such a backend.
AREA_OF_OPTION = {"zero_output_for_mask": "zero-out", "return_all_outputs": "ret-all", "time_major": "t-major"}

_RULE_AREAS = {
    "L3": "routes",
    "R10": "unroll",
    "R11": "t-major",
    "R7": "ret-all",
    "R3": "mask-state",
    "R4": "mask-out",
    "R8": "mask-out",
    "R9": "mask-out",
}


def areas_covered(property_id):
    """The areas a passing property vouches for (none for an unknown property)."""
    return PROPERTY_AREAS.get(property_id, ())


def area_of_failure(rule, example):
    """The one area a failure is reported in: the rule when it names an area, else the
    most specific option or shape its minimal example still needs."""
    if rule in ("L3", "R10", "R11"):
        return _RULE_AREAS[rule]
    if example is None:
        return _RULE_AREAS.get(rule, "layer" if rule.startswith("L") else "core")
    facts = example_facts(example)
    for area, needed in (
        ("nested", facts["nested_inputs"] or facts["nested_output"]),
        ("consts", facts["constants"] > 0),
        ("rank>2", facts["max_state_rank"] > 1 or facts["max_output_rank"] > 1),
        ("layer", facts["bidirectional"] or facts["stacked"] > 0 or rule == "L2"),
        ("t-major", facts["time_major"]),
        ("zero-out", facts["zero_output_for_mask"] and facts["masked"]),
        ("backwards", facts["go_backwards"] and rule in ("R1", "R5", "R8")),
    ):
        if needed:
            return area
    if rule in _RULE_AREAS:
        return _RULE_AREAS[rule]
    if facts["go_backwards"]:
        return "backwards"
    if not facts["return_all_outputs"]:
        return "ret-all"
    # Never "edge": shrinking takes B and T to 1 whenever it can, so a minimal
    # example of size 1 does not show that the size matters.
    return "core"
