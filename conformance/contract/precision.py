"""What the contract says a low-precision example returns (CONTRACT.md section 3).

The reference runs in float64 on the example's values, which are already rounded to its
dtype (inputs, states, constants and weights: they were drawn in it), and its results are
rounded to the dtype once, at the end. So the values a backend is compared with are the
exact ones, as near as the dtype can hold them; what a backend loses to rounding inside
the loop is what the tolerance (`tolerance`) allows, and nothing else.

The tolerance grows with the number of steps a value has been carried through, because a
rounding error in the carry is fed to every later step. Its constants come from
measurements on loops known to be correct (`benchmarks/precision.py`; CONTRACT.md says
how).
"""

from dataclasses import replace

import numpy as np
import optree

from cells.build import make_step
from cells.dtypes import UNIT_ROUNDOFF, is_low_precision, numpy_dtype
from cells.ops import get_ops
from cells.spec import CellSpec
from conformance.contract import reference
from conformance.contract.values import Result

# |got - want| <= u * (BASE + PER_STEP * n) * max(|want|, 1): u the dtype's unit roundoff,
# n the steps processed so far (section 3). Measured on the correct loops (the reference
# computing in the dtype, fixed-tensorflow in eager, function and XLA; float16 and
# bfloat16): the largest error seen was ... (see CONTRACT.md); these allow twice that.
BASE = 4.0
PER_STEP = 4.0


def in_float64(example):
    """The example with every array and weight as float64 (the same values, exactly)."""
    as64 = lambda arrays: tuple(np.asarray(a, np.float64) for a in arrays)  # noqa: E731
    spec = CellSpec(replace(example.structure, dtype="float64"), example.spec.weights)
    return example.changed(spec=spec, inputs=as64(example.inputs), initial_states=as64(example.initial_states),
                           constants=as64(example.constants))


def expected_in_low_precision(example):
    """The contract's results for a float16 or bfloat16 example: computed in float64,
    rounded to the example's dtype at the end."""
    wide = in_float64(example)
    step = make_step(wide.structure, get_ops("numpy"), wide.spec.weight_arrays())
    with np.errstate(all="ignore"):
        last_output, outputs, states = reference.rnn(step, **wide.call_arguments())
    dtype = numpy_dtype(example.dtype)
    rounded = lambda tree: optree.tree_map(lambda a: np.asarray(a).astype(dtype), tree)  # noqa: E731
    return Result(rounded(last_output), rounded(outputs), rounded(list(states)))


def processed_steps(example):
    """(B, T) in processing order: how many steps of each sample have been processed up
    to and including each step (a masked step processes nothing)."""
    if example.mask is None:
        kept = np.ones((example.batch, example.steps), bool)
    else:
        kept = np.asarray(example.mask, bool)
    if example.options.go_backwards:
        kept = kept[:, ::-1]
    return np.cumsum(kept, axis=1)


def steps_behind(example, part, leaf):
    """For each value of one leaf of `part` ("outputs", "last_output" or "new_states"),
    the number of processed steps it was carried through, shaped to broadcast against
    the leaf (outputs in the example's layout)."""
    rank = np.ndim(leaf)
    if hasattr(example, "layer"):  # a layer's halves and stacks carry in orders of their own: every step
        return np.full((1,) * rank, example.steps)
    processed = processed_steps(example)
    if part != "outputs" or not example.options.return_all_outputs:
        per_sample = processed[:, -1]
        if part == "outputs":  # (B, 1, ...), or (1, B, ...) time-major
            per_sample = per_sample[None, :] if example.options.time_major else per_sample[:, None]
            return per_sample.reshape(per_sample.shape + (1,) * (rank - 2))
        return per_sample.reshape(per_sample.shape + (1,) * (rank - 1))
    by_step = processed.T if example.options.time_major else processed
    return by_step.reshape(by_step.shape + (1,) * (rank - 2))


def allowed_error(example, want, steps):
    """The largest |got - want| section 3 allows at each value of `want`, a value carried
    through `steps` processed steps (an array that broadcasts against `want`)."""
    u = UNIT_ROUNDOFF[compute_dtype(example)]
    want = np.abs(np.asarray(want, np.float64))
    return u * (BASE + PER_STEP * np.asarray(steps, np.float64)) * np.maximum(np.where(np.isfinite(want), want, 0), 1.0)


# A layer's dtype policy (LayerOptions.dtype_policy) and the dtype it computes in: the
# mixed policies keep float32 variables and compute in the low dtype (section 3).
POLICY_COMPUTE_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16",
                         "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def compute_dtype(example):
    """The dtype an example's arithmetic runs in: its layer policy's compute dtype where
    it has a policy other than float32, else the cell's dtype."""
    policy = getattr(getattr(example, "layer", None), "dtype_policy", "float32")
    return POLICY_COMPUTE_DTYPES[policy] if policy != "float32" else example.dtype


def applies_to(example):
    """Whether section 3's low-precision tolerance is the one to compare `example` with."""
    return is_low_precision(compute_dtype(example))
