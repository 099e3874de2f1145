"""Structure: shapes (R5-R7), state structure and dtypes, independence, no mutation (R13).

The expected shapes come from the cell spec, not from the reference, so these checks
stand on their own.
"""

import numpy as np
import optree
import pytest
from hypothesis import example, given

from cells.catalog import report_2018_example
from cells.strategies import examples, options
from conformance.judge.assertions import Divergence, shape_rule, assert_same_results
from conformance.backends.base import Result
from conformance.judge.checks import contract_property
from conformance.judge.runs import run_backend


@given(example=examples())
@contract_property
def test_shapes_and_dtypes(target, example):
    """R1, R2, R5-R7: shapes and structure of outputs and last_output; R13 states keep
    structure, shape and dtype."""
    result = run_backend(target, example, rule="R13")
    b, t = example.batch, example.steps if example.options.return_all_outputs else 1
    time_first = example.options.time_major
    output_shapes = [o.shape for o in example.structure.outputs]
    expected = {
        "outputs": [((t, b) if time_first else (b, t)) + s for s in output_shapes],
        "last_output": [(b,) + s for s in output_shapes],
        "new_states": [s.shape for s in example.initial_states],
    }
    rules = {"last_output": "R6", "new_states": "R13"}
    for part, shapes in expected.items():
        leaves = optree.tree_leaves(getattr(result, part))
        actual = [np.shape(leaf) for leaf in leaves]
        if actual != shapes:
            if len(actual) != len(shapes):  # the structure itself is wrong (R2; R13 for states)
                rule = "R13" if part == "new_states" else "R2"
            elif part == "outputs":  # e.g. only the number of steps differs (R1)
                rule = shape_rule(part, example, *next((a, e) for a, e in zip(actual, shapes) if a != e))
            else:
                rule = rules[part]
            raise Divergence(rule, f"{part} shapes {actual}, expected {shapes}", example=example, target=target)
        dtypes = {str(np.asarray(leaf).dtype) for leaf in leaves}
        if dtypes - {example.dtype}:
            raise Divergence("R13", f"{part} dtypes {sorted(dtypes)}, the step returns {example.dtype}", example=example, target=target)


@given(example=examples(option_strategy=options(return_all_outputs=True)))
@example(example=report_2018_example(zero_output_for_mask=True))
@contract_property
def test_last_output_is_the_last_emitted_output(target, example):
    """R6: last_output == outputs[:, -1]. The explicit example is keras-team/keras#17596:
    the 2018 report's data (last step masked) under zero_output_for_mask, where the
    zeroed step is the last output; a drawn sample meets that case only by chance."""
    full = run_backend(target, example, rule="R6")
    last_step = optree.tree_map(lambda x: x[-1] if example.options.time_major else x[:, -1], full.outputs)
    assert_same_results(
        Result(full.last_output, full.outputs, full.new_states),
        Result(last_step, full.outputs, full.new_states),
        example,
        target,
        "R6",
        "last_output is not outputs[:, -1]",
    )


@pytest.mark.needs_options("return_all_outputs")
@given(example=examples(option_strategy=options(return_all_outputs=True)))
@contract_property
def test_return_all_outputs_false_keeps_only_the_last_step(target, example):
    """R7: return_all_outputs=False gives (last_output, last_output[:, None], new_states)."""
    full = run_backend(target, example, rule="R7")
    trimmed = example.changed(options={"return_all_outputs": False})
    one_step = optree.tree_map(lambda x: x[None] if example.options.time_major else x[:, None], full.last_output)
    assert_same_results(
        run_backend(target, trimmed, rule="R7"),
        Result(full.last_output, one_step, full.new_states),
        trimmed,
        target,
        "R7",
        "return_all_outputs=False is not (last_output, last_output[:, None], new_states)",
        runs=(trimmed, example),
    )


@given(example=examples())
@contract_property
def test_samples_are_independent(target, example):
    """R13: each sample run alone (B = 1) gives its row of the batched run."""
    batched = run_backend(target, example, rule="R13")
    b_axis = 1 if example.options.time_major else 0
    for b in range(example.batch):
        alone = example.changed(
            inputs=tuple(x[b : b + 1] for x in example.inputs),
            initial_states=tuple(s[b : b + 1] for s in example.initial_states),
            constants=tuple(c[b : b + 1] for c in example.constants),
            mask=None if example.mask is None else example.mask[b : b + 1],
        )
        row = Result(
            optree.tree_map(lambda x: x[b : b + 1], batched.last_output),
            optree.tree_map(lambda x: np.take(x, [b], axis=b_axis), batched.outputs),
            optree.tree_map(lambda x: x[b : b + 1], batched.new_states),
        )
        assert_same_results(
            run_backend(target, alone, rule="R13"), row, alone, target, "R13",
            f"sample {b} run alone differs from its row in the batch", runs=(alone, example),
        )


@given(example=examples())
@contract_property
def test_arguments_are_not_modified(target, example):
    """R13: inputs, initial states, constants and mask are unchanged after the call."""
    arrays = lambda e: list(e.inputs) + list(e.initial_states) + list(e.constants) + ([e.mask] if e.mask is not None else [])  # noqa: E731
    before = [a.copy() for a in arrays(example)]
    run_backend(target, example, rule="R13")
    for i, (now, then) in enumerate(zip(arrays(example), before)):
        if not np.array_equal(now, then, equal_nan=True):
            raise Divergence("R13", f"argument array {i} was modified in place", example=example, target=target)
