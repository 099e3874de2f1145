"""L8 (a stack of layers behind a mask) without Keras: what the reference says a layer hands
on, a stack case saved and read back, the stack property on a correct in-process layer and
on the layer mutants, each rejected by L8 alone."""

import json

import numpy as np
import pytest
from hypothesis import given, settings

from cells.case_fields import CaseError
from cells.case_schema import check_example
from cells.layer_strategies import stacked_layer_examples
from cells.serialize import example_from_dict, example_to_dict
from conformance.properties import test_layer_stacks
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


@pytest.mark.parametrize("name", sorted(LAYER_MUTANTS))
def test_each_layer_mutant_is_rejected_by_l8_and_passes_every_single_layer_property(name, ci_profile_without_shrinking):
    target = Target(LAYER_MUTANTS[name].backend, "call")
    for property_test in LAYER_PROPERTIES:
        if property_test is test_layer_stacks.test_stacked_layers_hand_on_the_mask:
            with pytest.raises((Divergence, BaseExceptionGroup)) as failure:
                property_test(target=target)
            assert {d.rule for d in divergences_in(failure.value)} == {"L8"}
        else:
            property_test(target=target)  # a single layer is the reference itself
