"""conformance/research/triage.py on made-up reports: grouping by root cause, crash texts that
differ only in numbers, and conditions that cover the members and no passing example."""

import numpy as np

from conformance.known import ledger as known
from conformance.research import triage


def facts(**changes):
    base = {"go_backwards": False, "mask": False, "unroll": False, "batch": 2, "steps": 3, "dtype": "float32",
            "mask_route": "none"}
    return {**base, **changes}


def result(outcome, rule, summary, example_facts, mode="eager", prop="test_agreement::test_agrees_with_reference"):
    return {"mode": mode, "property": prop, "rule": rule, "outcome": outcome, "summary": summary,
            "example": {"facts": example_facts, "repr": "Example(...)"}, "case": "c.json", "reproducer": "r.py"}


def report(*results, seen=()):
    return {"backends": [{"name": "impl:x:rnn", "status": "diverges", "results": list(results), "seen": list(seen)}]}


def passing(example_facts, prop="test_agreement::test_agrees_with_reference", mode="eager"):
    return {"mode": mode, "property": prop, "outcome": "pass", "facts": example_facts, "count": 1}


def test_crash_texts_that_differ_only_in_numbers_and_names_are_one_signature():
    a = triage.signature({"outcome": "crash", "rule": "R1", "summary": "CRASH: ValueError: shapes (2, 3) and (4,) for 'x'"})
    b = triage.signature({"outcome": "crash", "rule": "R1", "summary": "CRASH: ValueError: shapes (5, 1) and (7,) for 'y'"})
    assert a == b == "crash: ValueError: shapes (N, N) and (N,) for '…'"
    assert triage.signature({"outcome": "crash", "rule": "R1", "summary": "CRASH: float32 overflow"}).endswith("float32 overflow")
    assert triage.signature({"outcome": "fail", "rule": "R4", "summary": "outputs differ"}) == "R4"


def test_two_causes_are_two_groups_across_seeds_properties_and_modes():
    seeds = {
        1: report(result("crash", "R1", "CRASH: ValueError: bad 3", facts(go_backwards=True, mask=True)),
                  result("fail", "R4", "differ", facts(unroll=True, steps=4), mode="function")),
        2: report(result("crash", "R5", "CRASH: ValueError: bad 7", facts(go_backwards=True, mask=True, batch=1),
                         prop="test_layout::test_go_backwards_is_running_on_reversed_inputs")),
    }
    groups = triage.triage(seeds)
    assert [(g["shows_as"], g["seeds"], g["members"]) for g in groups] == [
        ("crash: ValueError: bad N", [1, 2], 2), ("R4", [1], 1)]
    crash = groups[0]
    assert crash["properties"] == ["test_agreement::test_agrees_with_reference",
                                   "test_layout::test_go_backwards_is_running_on_reversed_inputs"]
    assert crash["smallest"]["seed"] == 2  # batch 1: the smaller example


def test_the_proposed_condition_covers_every_member_and_no_passing_example():
    members = [facts(go_backwards=True, mask=True, batch=1), facts(go_backwards=True, mask=True, batch=3)]
    seen = [facts(go_backwards=True), facts(mask=True), facts(batch=1), facts()]
    proposal = triage.propose(members, seen)
    assert proposal["tightest"].startswith("1 <= batch <= 3 and dtype == 'float32' and go_backwards and mask")
    assert proposal["passing_covered"] == 0 and proposal["proposed"] == "go_backwards and mask"
    condition = compile_condition(proposal["proposed"])
    assert all(holds(condition, f) for f in members)
    assert not any(holds(condition, f) for f in seen)
    tightest = compile_condition(proposal["tightest"])
    assert all(holds(tightest, f) for f in members) and not any(holds(tightest, f) for f in seen)


def test_a_group_no_fact_separates_says_so_with_a_passing_example():
    members = [facts(go_backwards=True)]
    seen = [facts(go_backwards=True)]  # the same facts passed: the cause is in the data, or a fact is missing
    proposal = triage.propose(members, seen)
    assert proposal["proposed"] is None and proposal["passing_covered"] == 1
    assert proposal["covered_example"] == facts(go_backwards=True)


def test_without_passing_examples_the_proposal_is_every_example():
    assert triage.propose([facts()], [])["proposed"] == "True"


def test_passing_examples_count_only_in_the_groups_properties_and_modes():
    seeds = {1: report(
        result("fail", "R4", "differ", facts(unroll=True)),
        seen=[passing(facts(unroll=True), prop="test_hints::test_unroll_gives_the_same_results"),
              passing(facts(unroll=True), mode="function"),
              passing(facts())],
    )}
    group, = triage.triage(seeds)
    assert group["condition"]["passing_seen"] == 1 and group["condition"]["proposed"] == "unroll"


def test_declared_not_reproduced_and_worker_errors_are_listed_apart():
    seeds = {3: {"backends": [
        {"name": "a", "status": "diverges", "results": [
            {"mode": "eager", "property": "p", "rule": "R1", "outcome": "known-fixed", "known_divergence": "a-entry",
             "replay": True, "summary": "", "example": None}]},
        {"name": "b", "status": "error", "reason": "worker died", "results": []},
    ]}}
    assert triage.triage(seeds) == []
    assert triage.not_reproduced(seeds) == {("a-entry", "a", "eager"): [3]}
    assert triage.errors(seeds) == [(3, "b", "worker died")]


def compile_condition(text):
    return known._compile_condition(text, "test")


def holds(code, example_facts):
    return bool(eval(code, {"__builtins__": {}}, example_facts))  # noqa: S307 - validated by known


def test_the_facts_soak_triage_needed():
    """hidden_feeds_nothing (a Keras 2 / Theano training crash): a cell, or a stacked copy,
    with no dense state and no dense output; size_1_counter_state (Theano's broadcastable
    default initial state, kept by an unrolled counter)."""
    from cells.catalog import report_2018_example
    from cells.spec import CellSpec, OutputSpec, StateSpec
    from conformance.known.facts import FACT_NAMES, example_facts

    example = report_2018_example()
    assert "hidden_feeds_nothing" in FACT_NAMES
    structure = example.structure
    assert example_facts(example)["hidden_feeds_nothing"] is not any(p.kind == "dense" for p in structure.states + structure.outputs)
    idle = replace_structure(structure, states=(StateSpec((1,), kind="counter"),), outputs=(OutputSpec((1,), kind="state0"),))
    busy = replace_structure(structure, states=(StateSpec((1,), kind="counter"),), outputs=(OutputSpec((1,)),))
    for changed, expected in ((idle, True), (busy, False)):
        spec = CellSpec(changed, tuple(tuple([0.5] * int(np.prod(s))) for s in changed.weight_shapes()))
        one = example.changed(spec=spec, initial_states=(np.zeros((example.batch, 1), changed.dtype),))
        assert example_facts(one)["hidden_feeds_nothing"] is expected
        assert example_facts(one)["size_1_counter_state"]  # (both have a counter state of size 1)
    dense = replace_structure(structure, states=(StateSpec((1,)),), outputs=(OutputSpec((1,)),))
    spec = CellSpec(dense, tuple(tuple([0.5] * int(np.prod(s))) for s in dense.weight_shapes()))
    one = example.changed(spec=spec, initial_states=(np.zeros((example.batch, 1), dense.dtype),))
    assert not example_facts(one)["size_1_counter_state"] and not example_facts(one)["hidden_feeds_nothing"]


def replace_structure(structure, **changes):
    from dataclasses import replace

    return replace(structure, **changes)
