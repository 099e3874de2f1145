"""L8 (a stack of layers behind a mask) without Keras: what the reference says a layer hands
on, a stack case saved and read back, the stack property on a correct in-process layer and
on the layer mutants, each rejected by its own property alone (L8's, or the dtype-policy one)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings

from cells.case_fields import CaseError
from cells.case_schema import check_example
from cells.layer_strategies import stacked_layer_examples
from cells.serialize import example_from_dict, example_to_dict
from conformance.properties import test_layer_precision, test_layer_stacks
from conformance.judge.assertions import Divergence, divergences_in
from conformance.known.facts import example_facts
from conformance.contract.layer_reference import handed_on_mask, stack_outputs
from conformance.research.mutants.layer_catalog import LAYER_MUTANTS, InProcessLayer
from conformance.properties import LAYER_PROPERTIES
from conformance.judge.targets import Target

MASK = np.array([[True, True, False], [True, False, False]])


def first_stack(**first_options):
    """A drawn stack (any), its first layer's rnn options set as given."""
    found = []

    @settings(max_examples=1, database=None)
    @given(stacked_layer_examples())
    def take(example):
        found.append(example.changed(options=first_options) if first_options else example)

    take()
    return found[0]


def test_a_layer_hands_on_its_input_mask_in_the_order_of_its_output_sequence():
    """L8: reversed after go_backwards (R5), as it is after Bidirectional (L5), none
    without return_sequences."""
    example = first_stack().changed(mask=MASK)
    plain = example.first_layer()
    assert handed_on_mask(MASK, plain) is MASK
    backwards = plain.changed(options={"go_backwards": True})
    assert np.array_equal(handed_on_mask(MASK, backwards), MASK[:, ::-1])
    bidirectional = backwards.changed(layer={"bidirectional": True})
    assert handed_on_mask(MASK, bidirectional) is MASK
    assert handed_on_mask(MASK, plain.changed(options={"return_all_outputs": False})) is None
    assert handed_on_mask(None, plain) is None


@settings(max_examples=25, database=None)
@given(stacked_layer_examples())
def test_a_stack_case_is_saved_and_read_back_whole(example):
    data = json.loads(json.dumps(example_to_dict(example)))
    check_example(data)
    back = example_from_dict(data)
    assert repr(back) == repr(example)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(stack_outputs(back), stack_outputs(example)))


@pytest.mark.parametrize("breaks, message", [
    (lambda d: d["options"].update(return_all_outputs=False), "the first layer of a stack returns its sequence"),
    (lambda d: d["layer"].update(bidirectional=not d["layer"]["bidirectional"], merge_mode="concat"),
     "its input is not the previous layer's sequence"),  # (a concatenating Bidirectional doubles the width)
    (lambda d: d.update(stack_build="keras"), "stack_build"),
    (lambda d: d.pop("mask_each_layer"), "come together"),
    (lambda d: d["next_layers"][0]["layer"].update(merge_mode="max"), "merge_mode"),
    (lambda d: d.update(next_layers=[]), "next_layers"),
])
def test_a_stack_case_that_is_not_a_stack_the_suite_builds_is_refused(breaks, message):
    data = json.loads(json.dumps(example_to_dict(first_stack())))
    breaks(data)
    with pytest.raises(CaseError, match=message):
        check_example(data)


def test_the_facts_of_a_stack_name_what_its_later_layers_do():
    example = first_stack(go_backwards=True).changed(layer={"bidirectional": False})
    facts = example_facts(example)
    assert facts["layers"] == 1 + len(example.next_layers) and facts["handed_after_go_backwards"]
    assert not example_facts(example.first_layer())["handed_after_go_backwards"]
    assert example_facts(example.first_layer())["stack_build"] == "none"


def test_the_stack_property_passes_a_correct_layer(ci_profile_without_shrinking):
    test_layer_stacks.test_stacked_layers_hand_on_the_mask(target=Target(InProcessLayer("correct"), "call"))


# The one property that kills each layer mutant, by its rule: L8's stack property, or the
# dtype-policy property (issue 40) for a layer computing in the wrong dtype (R13).
EXPECTED_KILLER = {
    "layer-hands-on-no-mask": test_layer_stacks.test_stacked_layers_hand_on_the_mask,
    "go-backwards-hands-on-unreversed-mask": test_layer_stacks.test_stacked_layers_hand_on_the_mask,
    "policy-variable-dtype-as-compute-dtype": test_layer_precision.test_layer_under_a_dtype_policy_agrees_with_reference,
}


def test_every_layer_mutant_has_an_expected_killer():
    assert set(EXPECTED_KILLER) == set(LAYER_MUTANTS)


@pytest.mark.parametrize("name", sorted(LAYER_MUTANTS))
def test_each_layer_mutant_is_rejected_by_its_property_alone(name, ci_profile_without_shrinking):
    """An L8 mutant by the stack property alone, a policy mutant by the policy property
    alone; every other layer property passes it (float32 single layers: the reference)."""
    mutant = LAYER_MUTANTS[name]
    target = Target(mutant.backend, "call")
    for property_test in LAYER_PROPERTIES:
        if property_test is EXPECTED_KILLER[name]:
            with pytest.raises((Divergence, BaseExceptionGroup)) as failure:
                property_test(target=target)
            assert {d.rule for d in divergences_in(failure.value)} == {mutant.rule}
        else:
            property_test(target=target)
