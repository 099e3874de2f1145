"""The layer contract (CONTRACT.md section 2) on top of the reference loop.

`RNN(cell, ...)` is `rnn` with `return_all_outputs = return_sequences`; this module only
adds what the layer adds: what it returns (L1), its default initial state (L2), stacked
cells (L6), `Bidirectional` (L5) and, for a stack of layers, the mask each hands on to the
next (L8). Masks reach it as one (B, T) array whatever route they took in the layer (L3),
and cells are the same specs the function-level suite builds (L4). Rule ids in the comments.
"""

import numpy as np

from cells.build import make_step
from cells.builtin_cell import is_builtin_cell
from cells.dtypes import UNIT_ROUNDOFF, numpy_dtype
from cells.keras_script import layer_script
from cells.stack_script import stack_script
from cells.ops import get_ops
from cells.user_cell import is_user_cell
from conformance.contract import reference
from conformance.contract.builtin_step import builtin_step
from conformance.contract.precision import BASE, PER_STEP, POLICY_COMPUTE_DTYPES
from conformance.contract import user_cell_reference
from conformance.contract.values import Result


def layer_source(example, backend, mode, title=None, expected=None):
    """The standalone script of a layer example for `backend`'s Keras (flavor, and for
    Keras 3 its backend) in `mode`, expecting the contract's values (`expected`, or the
    layer reference's): the one copy used by failure messages and saved reproducers."""
    flavor = getattr(backend, "flavor", "keras3")
    if example.next_layers:  # a stack (L8): the stack as built against itself given the masks L8 says
        return stack_script(example, handed_masks(example), flavor, mode, title, getattr(backend, "keras_backend", None))
    tolerance = None
    if example.layer.dtype_policy != "float32":  # section 3's low-precision bound, as rtol = atol
        u = UNIT_ROUNDOFF[POLICY_COMPUTE_DTYPES[example.layer.dtype_policy]]
        tolerance = (u * (BASE + PER_STEP * example.steps),) * 2
    if expected is None:
        expected = policy_layer_outputs(example) if example.layer.dtype_policy != "float32" else layer_outputs(example)
    return layer_script(example, flavor, mode, expected, title, getattr(backend, "keras_backend", None), tolerance)


def expected_layer_result(example):
    """The layer reference as a Result, the shape a layer row's run returns (L1); under a
    dtype policy other than float32, `policy_layer_outputs`."""
    returned = policy_layer_outputs(example) if example.layer.dtype_policy != "float32" else layer_outputs(example)
    return Result(last_output=[], outputs=returned[0], new_states=returned[1:])


def policy_layer_outputs(example, dtype=None):
    """What a layer under a dtype policy returns (issue 40; section 3's low precision):
    the layer reference in float64 on the example's float32 values (inputs and initial
    states, which the layer casts, and the weights: a mixed policy keeps them in float32
    variables), rounded once, at the end, to the policy's compute dtype (or `dtype`). A
    plain float16 or bfloat16 layer holds its weights in that dtype: they are rounded to
    it first, as its variables round what they are set to."""
    policy = example.layer.dtype_policy
    low = numpy_dtype(dtype or POLICY_COMPUTE_DTYPES[policy])
    as64 = lambda arrays: tuple(np.asarray(a, np.float64) for a in arrays)  # noqa: E731
    held = numpy_dtype(policy) if policy in POLICY_COMPUTE_DTYPES and not policy.startswith("mixed") and policy != "float32" else None
    weights = [[np.asarray(w if held is None else w.astype(held), np.float64) for w in spec.weight_arrays()] for spec in example.specs]
    wide = example.changed(inputs=as64(example.inputs), initial_states=as64(example.initial_states))
    returned = layer_outputs(wide, cell_weights=[weights, weights])
    return [np.asarray(r).astype(low) for r in returned]


def handed_on_mask(mask, layer):
    """L8: the mask a layer (a LayerExample) hands on with its output: none without
    return_sequences; its input mask, in the order of its output sequence (reversed with
    go_backwards, R5; Bidirectional merges steps of one input time, L5)."""
    if mask is None or not layer.options.return_all_outputs:
        return None
    reversed_order = layer.options.go_backwards and not layer.layer.bidirectional
    return np.ascontiguousarray(mask[:, ::-1]) if reversed_order else mask


def handed_masks(example):
    """The mask L8 says each later layer of a stack is handed, second layer first."""
    masks, layer = [], example.first_layer()
    for further in example.next_layers:
        masks.append(handed_on_mask(layer.mask, layer))
        layer = further.alone(example.inputs[0], masks[-1], "handed-on")
    return masks


def stack_outputs(example, rnn=reference.rnn, hand_on=handed_on_mask, cell_step=None):
    """What a stack of layers returns (L8): each layer run on the previous one's output
    sequence under the mask that layer hands on (`hand_on`: the suite's own tests pass a
    faulty one); the last layer's [output, *states]."""
    layer = example.first_layer()
    returned = layer_outputs(layer, rnn, cell_step=cell_step)
    for further in example.next_layers:
        layer = further.alone(returned[0], hand_on(layer.mask, layer), "handed-on")
        returned = layer_outputs(layer, rnn, cell_step=cell_step)
    return returned


def layer_outputs(example, rnn=reference.rnn, cell_weights=None, user_step=None, cell_step=None):
    """What the layer returns, as a flat list of arrays: [output, *states] (L1).

    `rnn` is the loop underneath (the reference; the suite's own tests pass faulty ones
    to build faulty layers). `cell_weights`, when given, replaces the specs' weights: one
    list per copy of the layer (two for Bidirectional, forward first), each one list of
    arrays per cell (L7's finite differences perturb each copy's weights on their own).
    `cell_step(structure, weights)`: a built-in cell's step (default builtin_step; the
    built-in mutants pass faulty ones)."""
    if example.next_layers:
        if cell_weights is not None:
            raise ValueError("a stack of layers (L8) has no weight copies to perturb: L7 takes one layer")
        return stack_outputs(example, rnn, cell_step=cell_step)
    if is_user_cell(example.spec.structure) and not user_cell_reference.IN_WORKER:
        return user_cell_reference.layer_outputs(example, rnn, cell_weights)  # the cell's `call` runs there
    if cell_weights is None:
        weights = [spec.weight_arrays() for spec in example.specs]
        cell_weights = [weights, weights]
    with np.errstate(all="ignore"):  # a sigmoid's exp may overflow to inf: 1 / (1 + inf) = 0
        returned = _layer_outputs(example, rnn, cell_weights, user_step, cell_step or builtin_step)
    if any(is_builtin_cell(spec.structure) for spec in example.specs):  # computed in float64, rounded once
        returned = [np.asarray(r).astype(np.asarray(example.inputs[0]).dtype) for r in returned]
    return returned


def _layer_outputs(example, rnn, cell_weights, user_step, cell_step):
    o = example.options
    forward = _run(example, o.go_backwards, rnn, cell_weights[0], user_step, cell_step)
    if not example.layer.bidirectional:
        output, states = forward
        return [output] + (states if example.layer.return_state else [])
    # L5: a go_backwards copy runs too; with return_sequences its sequence is flipped back
    # to original time order; the halves are merged (MERGE, concatenated by default).
    backward_output, backward_states = _run(example, not o.go_backwards, rnn, cell_weights[1], user_step, cell_step)
    if o.return_all_outputs:
        backward_output = backward_output[:, ::-1]
    output = MERGE[example.layer.merge_mode](forward[0], backward_output)
    return [output] + (forward[1] + backward_states if example.layer.return_state else [])


# L5: how Bidirectional merges its halves, in Keras' order (forward, backward).
MERGE = {
    "concat": lambda f, b: np.concatenate([f, b], axis=-1),
    "sum": lambda f, b: f + b,
    "mul": lambda f, b: f * b,
    "ave": lambda f, b: (f + b) / 2,
}


def _run(example, go_backwards, rnn, weights, user_step, cell_step):
    o = example.options
    last_output, outputs, states = rnn(
        _stacked_step(example, weights, user_step, cell_step),
        example.inputs[0],
        example.initial_state_values(),  # L2: given, or zeros of state_size
        go_backwards=go_backwards,
        mask=example.mask,  # L3: the same mask whatever route it took
        constants=example.constants,  # a tf_keras user cell's (--cell-framework tf-keras); else none
        zero_output_for_mask=o.zero_output_for_mask,
        return_all_outputs=o.return_all_outputs,
    )
    # L1: the sequence with return_sequences, else the last output; then the final states.
    return (outputs if o.return_all_outputs else last_output), list(states)


def _stacked_step(example, weights, user_step=None, cell_step=builtin_step):
    """One step of every cell in turn (L6): cell k's output is cell k+1's input; the
    states are every cell's, in order; only the last cell's output is emitted. The loop
    passes the constants after the states (R2); every user cell that reads them gets them
    all, as tf_keras' RNN and StackedRNNCells pass them."""
    numpy = get_ops("numpy")
    steps = [
        user_step(spec, w) if is_user_cell(spec.structure)
        else cell_step(spec.structure, w) if is_builtin_cell(spec.structure)  # issue 41: a built-in layer's cell
        else make_step(spec.structure, numpy, w)
        for spec, w in zip(example.specs, weights)
    ]

    n_states = sum(len(spec.structure.states) for spec in example.specs)

    def step(x, states_and_constants):
        states, constants = list(states_and_constants[:n_states]), tuple(states_and_constants[n_states:])
        new_states = []
        for spec, cell_step, cell_states in zip(example.specs, steps, example.states_per_cell(states)):
            reads = (constants,) if spec.structure.constant_shapes else ()  # (the suite's steps take none)
            x, cell_new_states = cell_step(x, tuple(cell_states), *reads)
            new_states += list(cell_new_states)
        return x, new_states

    return step
