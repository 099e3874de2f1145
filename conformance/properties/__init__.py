"""Every property of the suite, by level, for code that runs them outside pytest.

`FUNCTION_PROPERTIES` is also the order `rnn-conformance mutants` tries them in: the
broad comparison with the reference first, then the metamorphic relations.
"""

import types

from hypothesis import given, settings

from conformance.properties import test_agreement
from conformance.properties import test_builtin_layers
from conformance.properties import test_gradients
from conformance.properties import test_hints
from conformance.properties import test_layer
from conformance.properties import test_layer_gradients
from conformance.properties import test_layer_precision
from conformance.properties import test_layer_stacks
from conformance.properties import test_layout
from conformance.properties import test_masking
from conformance.properties import test_precision
from conformance.properties import test_structure

FUNCTION_PROPERTIES = [
    test_agreement.test_agrees_with_reference,
    test_structure.test_shapes_and_dtypes,
    test_structure.test_last_output_is_the_last_emitted_output,
    test_structure.test_return_all_outputs_false_keeps_only_the_last_step,
    test_structure.test_samples_are_independent,
    test_structure.test_arguments_are_not_modified,
    test_masking.test_all_true_mask_equals_no_mask,
    test_masking.test_mask_formats_agree,
    test_masking.test_masked_inputs_are_inert,
    test_layout.test_time_major_is_the_transpose,
    test_layout.test_go_backwards_is_running_on_reversed_inputs,
    test_hints.test_unroll_gives_the_same_results,
    test_hints.test_input_length_is_a_hint,
    # Low precision last: a mutant these alone find is one that only rounding shows.
    test_precision.test_low_precision_agrees_with_reference,
    test_precision.test_low_precision_is_exact_where_the_contract_is_exact,
]
# Contract section 5, on backends that differentiate; also the order the gradient mutants
# are hunted in.
GRADIENT_PROPERTIES = [
    test_gradients.test_gradients_agree_with_reference,
    test_gradients.test_masked_steps_are_inert_for_gradients,
    test_gradients.test_gradients_are_invariant,
]
FUNCTION_MODULES = (test_agreement, test_gradients, test_hints, test_layout, test_masking, test_precision, test_structure)
LAYER_MODULES = (test_layer, test_layer_stacks, test_layer_gradients, test_layer_precision)
BUILTIN_MODULES = (test_builtin_layers,)
# The forward layer properties (sections 2, L1-L6 and L8), in the order the layer mutants
# are hunted in: each single-layer property before the stacks.
LAYER_PROPERTIES = [
    test_layer.test_layer_agrees_with_reference,
    test_layer.test_mask_routes_agree,
    test_layer.test_bidirectional_agrees_with_reference,
    test_layer.test_stacked_cells_agree_with_reference,
    test_layer_stacks.test_stacked_layers_hand_on_the_mask,
    # Dtype policies last (issue 40): a mutant this alone finds is one only a policy shows.
    test_layer_precision.test_layer_under_a_dtype_policy_agrees_with_reference,
]


def hypothesis_tests(modules):
    """The @given tests defined in `modules`."""
    return [f for m in modules for n, f in vars(m).items() if n.startswith("test_") and getattr(f, "is_hypothesis_test", False)]


# The built-in layers (issue 41), in the order the built-in mutants are hunted in.
BUILTIN_PROPERTIES = [
    test_builtin_layers.test_builtin_layer_agrees_with_reference,
    test_builtin_layers.test_builtin_mask_routes_agree,
    test_builtin_layers.test_builtin_bidirectional_agrees_with_reference,
    test_builtin_layers.test_builtin_stack_hands_on_the_mask,
    test_builtin_layers.test_builtin_stateful_layer_carries_its_states,
]

ALL_PROPERTIES = hypothesis_tests(FUNCTION_MODULES + LAYER_MODULES + BUILTIN_MODULES)


def generated_only(property_test, strategy, chosen_settings):
    """The property's own body and strategy, re-decorated without its @example cases, so
    that Hypothesis has to find (and shrink) a bug by itself: how the suite's power is
    shown on the 2018 loop (tests/properties/test_known_bad.py, benchmarks/failure.py)."""
    return given(example=strategy)(settings(chosen_settings)(_copy(property_test.hypothesis.inner_test)))


def _copy(function):
    """The function again, without the settings an earlier `generated_only` gave it (it
    can then be re-decorated any number of times; the same source, so the same examples)."""
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__, function.__defaults__, function.__closure__)
    copy.__dict__.update({k: v for k, v in vars(function).items() if not k.startswith("_hypothesis")})
    copy.__qualname__, copy.__module__, copy.__kwdefaults__ = function.__qualname__, function.__module__, function.__kwdefaults__
    return copy
