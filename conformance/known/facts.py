"""What can be said about an example, by name: the vocabulary of known-divergence conditions.

A condition such as `masked and not unroll and go_backwards` is evaluated over these
facts. They describe the drawn configuration only, never a backend's behaviour.
"""

from math import prod

import numpy as np

from cells.dtypes import LOW_PRECISION
from cells.layer_example import dtype_policy_of
from cells.spec import in_domain


def example_facts(example):
    o = example.options
    s = example.structure
    mask = None if example.mask is None else np.asarray(example.mask, bool)
    processed = None if mask is None else (mask[:, ::-1] if o.go_backwards else mask)
    state_ranks = [len(st.shape) for st in s.states]
    output_ranks = [len(out.shape) for out in s.outputs]
    return {
        # options
        "go_backwards": o.go_backwards,
        "unroll": o.unroll,
        "time_major": o.time_major,
        "zero_output_for_mask": o.zero_output_for_mask,
        "return_all_outputs": o.return_all_outputs,
        "input_length": o.pass_input_length,
        "mask_format": o.mask_format,
        # mask
        "mask": mask is not None,
        "masked": mask is not None and not mask.all(),
        "fully_masked_row": mask is not None and bool((~mask).all(axis=1).any()),
        "first_step_masked": mask is not None and not mask[:, 0].all(),  # time 0, not processing order
        "first_processed_step_masked": processed is not None and not processed[:, 0].all(),
        "last_processed_step_masked": processed is not None and not processed[:, -1].all(),
        # sizes
        "batch": example.batch,
        "steps": example.steps,
        "dtype": s.dtype,
        # "full" (float32, float64), "float16", "bfloat16", or a layer's mixed policy (section 3)
        "precision": precision_of(example),
        # cell
        "states": len(s.states),
        "constants": len(s.constant_shapes),
        "nested_inputs": s.nested_inputs,
        "nested_output": s.nested_output,
        "max_state_rank": max(state_ranks, default=0),
        "max_output_rank": max(output_ranks),
        "output_is_state0": all(out.kind == "state0" for out in s.outputs),
        "size_1_state_after_first": any(prod(st.shape) == 1 for st in _all_states(example)[1:]),
        "size_1_counter_state": any(st.kind == "counter" and prod(st.shape) == 1 for st in _all_states(example)),
        "hidden_feeds_nothing": any(_hidden_feeds_nothing(spec.structure) for spec in _all_specs(example)),
        "input_transform": s.input_transform,
        # data
        "masked_fill": masked_fill(example, mask),
        **_layer_facts(example),
    }


def precision_of(example):
    """How precise an example's arithmetic is: a layer's dtype policy where it has one
    other than float32, else "full" for float32 and float64, else the dtype's name."""
    policy = dtype_policy_of(example)
    if policy != "float32":
        return policy
    return example.structure.dtype if example.structure.dtype in LOW_PRECISION else "full"


def json_facts(example):
    """The facts as JSON values (a number or text stays one, anything else becomes its
    text): what reports carry, and what soak's triage reads back."""
    return as_json(example_facts(example))


def as_json(facts):
    """Facts already computed, as JSON values (see json_facts)."""
    return {k: (v if isinstance(v, (bool, int, str, float)) else str(v)) for k, v in facts.items()}


def masked_fill(example, mask):
    """What the inputs hold at masked positions (G3): "nan" or "inf" where some value
    there is, else "outside-domain" where one lies outside the cell's input transform's
    domain (the first leaf, cells.spec), else "none" (no mask, or only ordinary values)."""
    if mask is None or mask.all():
        return "none"
    masked = [np.asarray(leaf)[~mask] for leaf in example.inputs]
    if any(np.isnan(values).any() for values in masked):
        return "nan"
    if any(np.isinf(values).any() for values in masked):
        return "inf"
    if not in_domain(example.structure.input_transform, masked[0]).all():
        return "outside-domain"
    return "none"


def _all_specs(example):
    """Every cell, first to last: the stacked cells of a layer example, else its one cell."""
    return getattr(example, "specs", (example.spec,))


def _all_states(example):
    """Every state in the order the loop carries them: all cells' states for stacked cells."""
    return [state for spec in _all_specs(example) for state in spec.structure.states]


def _hidden_feeds_nothing(structure):
    """A cell with no dense state and no dense output (counters, state0 and echo outputs
    only, cells/spec.py): its hidden layer's weights reach no result, so every gradient
    of them is 0 and a framework may call them disconnected (soak, issue 20)."""
    return not any(part.kind == "dense" for part in structure.states + structure.outputs)


def _layer_facts(example):
    """The `RNN` layer's own options (contract section 2); absent (false) for `rnn` examples."""
    layer = getattr(example, "layer", None)
    return {
        "layer": layer is not None,
        "return_sequences": layer is not None and example.options.return_all_outputs,
        "return_state": layer is not None and layer.return_state,
        "initial_state": layer is not None and layer.initial_state,
        "state_size_as_int": layer is not None and layer.state_size_as_int,
        "mask_route": layer.mask_route if layer is not None else "none",
        "bidirectional": layer is not None and layer.bidirectional,
        # "whole", or "sliced": the cell takes its weights as slices of one kernel (LayerOptions)
        "weights_layout": getattr(layer, "weights_layout", "whole") if layer is not None else "none",
        "stacked": len(getattr(example, "stacked", ())),
        **_stack_facts(example),
    }


def _stack_facts(example):
    """A stack of layers (L8): how many, how it is built, what the later layers do."""
    further = tuple(getattr(example, "next_layers", ()))
    handing = [example] + list(further[:-1])  # every layer that hands a mask on
    return {
        "layers": 1 + len(further),
        "stack_build": getattr(example, "stack_build", "functional") if further else "none",
        "mask_each_layer": bool(getattr(example, "mask_each_layer", False)),
        "handed_after_go_backwards": bool(further) and any(
            layer.options.go_backwards and not layer.layer.bidirectional for layer in handing),
        "bidirectional_later": any(layer.layer.bidirectional for layer in further),
        "initial_state_later": any(layer.layer.initial_state for layer in further),
        # a later layer starting from default zeros of a size-1 state after its first (Keras 2 on Theano)
        "later_default_size_1_state": any(not layer.layer.initial_state and any(prod(s.shape) == 1 for s in layer.spec.structure.states[1:])
                                          for layer in further),
        "last_returns_sequences": (further[-1].options.return_all_outputs if further
                                   else example.options.return_all_outputs if hasattr(example, "layer") else False),
    }


def _fact_names():
    from cells.catalog import report_2018_example

    return frozenset(example_facts(report_2018_example()))


FACT_NAMES = _fact_names()
