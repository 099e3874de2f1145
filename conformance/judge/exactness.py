"""Where the contract is exact in every dtype (CONTRACT.md section 3, "Low precision").

Rounding lets a low-precision value differ from the reference by a tolerance; it never
excuses what a loop does by selection. A state carried through a masked step is carried
as it is (R3), a masked step's output is the previous output or exactly zero (R4), the
last output is the last one emitted (R6), and every result keeps the step's dtype (R13).
These checks read the backend's own results, so no tolerance and no reference enter:
"equal" is `==` (or NaN on both sides), which also takes -0.0 for 0.0.
"""

import numpy as np
import optree

from cells.dtypes import numpy_dtype
from conformance.judge.assertions import Divergence


def _equal(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _batch_major(outputs, example):
    return optree.tree_map(lambda x: np.swapaxes(np.asarray(x), 0, 1), outputs) if example.options.time_major else outputs


def _kept_in_processing_order(example):
    kept = np.ones((example.batch, example.steps), bool) if example.mask is None else np.asarray(example.mask, bool)
    return kept[:, ::-1] if example.options.go_backwards else kept


def assert_dtypes(result, example, target):
    """R13: every output and state leaf has the example's dtype."""
    dtype = numpy_dtype(example.dtype)
    for part in ("outputs", "last_output", "new_states"):
        found = sorted({str(np.asarray(leaf).dtype) for leaf in optree.tree_leaves(getattr(result, part))} - {str(dtype)})
        if found:
            raise Divergence("R13", f"{part} dtypes {found}, the step returns {example.dtype}", example=example, target=target)


def assert_masked_outputs_exact(result, example, target):
    """R4 and R6, exactly: at a masked step the output is the one emitted at the step
    before (zeros before the sample's first processed step), or zeros under
    zero_output_for_mask; the last output is the output emitted last."""
    if not example.options.return_all_outputs:
        return
    kept = _kept_in_processing_order(example)
    outputs = optree.tree_leaves(_batch_major(result.outputs, example))
    for i, (leaf, last) in enumerate(zip(outputs, optree.tree_leaves(result.last_output))):
        leaf = np.asarray(leaf)
        name = f"outputs[{i}]" if len(outputs) > 1 else "outputs"
        if not _equal(leaf[:, -1], last).all():
            raise Divergence("R6", f"last_output is not exactly {name}[:, -1]", example=example, target=target)
        for b, t in zip(*np.nonzero(~kept)):
            if example.options.zero_output_for_mask or t == 0:
                want, said = np.zeros_like(leaf[b, t]), "exactly zero"
            else:
                want, said = leaf[b, t - 1], f"the output of step {t - 1} exactly"
            if not _equal(leaf[b, t], want).all():
                raise Divergence("R4", f"{name} of sample {b} at masked step {t} (processing order) is not {said}: got "
                                 f"{_values(leaf[b, t])}, expected {_values(want)}", example=example, target=target)


def assert_carried_states_exact(result, example, target):
    """R3, exactly: a sample that processes no step returns its initial states as they
    were; a cell whose output is its first state shows that state after every step, so
    its final state is the output of its last processed step."""
    kept = _kept_in_processing_order(example)
    states = [np.asarray(s) for s in optree.tree_leaves(result.new_states)]
    for b in np.nonzero(~kept.any(axis=1))[0]:
        for k, (state, initial) in enumerate(zip(states, example.initial_states)):
            if not _equal(state[b], initial[b]).all():
                raise Divergence("R3", f"sample {b} processes no step, yet its new_states[{k}] is not its initial state "
                                 f"exactly: got {_values(state[b])}, expected {_values(initial[b])}", example=example, target=target)
    state0 = [i for i, o in enumerate(example.structure.outputs) if o.kind == "state0"]
    if not (state0 and states and example.options.return_all_outputs):
        return
    leaf = np.asarray(optree.tree_leaves(_batch_major(result.outputs, example))[state0[0]])
    for b in np.nonzero(kept.any(axis=1))[0]:
        t = int(np.nonzero(kept[b])[0][-1])
        if not _equal(states[0][b], leaf[b, t]).all():
            raise Divergence("R3", f"sample {b}'s new_states[0] is not exactly the state its last processed step "
                             f"(step {t}, processing order) emitted as its output: got {_values(states[0][b])}, "
                             f"the step emitted {_values(leaf[b, t])}", example=example, target=target)


def assert_identical(first, second, example, target, rule, relation, runs):
    """Two runs the contract says give the same results give equal ones (no tolerance)."""
    for part in ("outputs", "last_output", "new_states"):
        for i, (a, b) in enumerate(zip(optree.tree_leaves(getattr(first, part)), optree.tree_leaves(getattr(second, part)))):
            same = _equal(a, b) if np.shape(a) == np.shape(b) else np.zeros(1, bool)
            if not same.all():
                at = tuple(int(p) for p in np.argwhere(~same)[0]) if same.ndim else ()
                divergence = Divergence(rule, relation, [f"{part}[{i}] differs first at {at}: {_values(np.asarray(a)[at])} "
                                                         f"against {_values(np.asarray(b)[at])}"], example, target)
                divergence.runs = tuple(runs)
                raise divergence


def _values(a):
    return np.array2string(np.asarray(a, np.float64), precision=8, separator=", ")
