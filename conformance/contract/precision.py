"""What the contract says a low-precision example returns, and how far from it a backend
may be (CONTRACT.md section 3, "Low precision").

The reference runs in float64 on the example's values, which are already rounded to its
dtype (inputs, states, constants and weights: they were drawn in it), and its results are
rounded to the dtype once, at the end. So the values a backend is compared with are the
exact ones, as near as the dtype can hold them.

How far a correct loop may be from them depends on the cell: a rounding error in the carry
is fed to every later step, and a cell whose step amplifies its state amplifies the error
too (measured: a float16 tanh cell 24 u from the exact value after five steps, a counter a
fraction of u). So the tolerance is propagated, not guessed: the float64 reference runs
`RUNS` more times with every rounding a low-precision step makes replaced by a random
relative error of at most u (the dtype's unit roundoff) — in each product's accumulation,
each activation, and each state and output stored at the end of a step — and the largest
change that makes to a value, its `spread`, is how much rounding can move it there. A
backend agrees when

    |got - want| <= SPREAD_FACTOR * spread + BASE * u * max(|want|, 1)

the second term being the rounding of the two results themselves. The constants come from
measurements on loops known to be correct (benchmarks/precision.py; CONTRACT.md).

A layer (section 2) is compared with the simpler bound `allowed_error`, u * (BASE +
PER_STEP * T) * max(|want|, 1), its constants measured on the Keras layer rows.
"""

from dataclasses import dataclass, replace

import numpy as np
import optree

from cells.build import make_step
from cells.dtypes import UNIT_ROUNDOFF, is_low_precision, numpy_dtype
from cells.layer_example import dtype_policy_of
from cells.ops import NumpyOps
from cells.spec import CellSpec
from conformance.contract import reference
from conformance.contract.values import Result

RUNS = 6  # perturbed runs of the reference per example
SPREAD_FACTOR = 1.0
BASE = 2.0
PER_STEP = 4.0  # a layer's bound only (`allowed_error`)
SEED = 40  # the perturbations are the same for the same example on every run

# A layer's dtype policy (LayerOptions.dtype_policy) and the dtype it computes in: the
# mixed policies keep float32 variables and compute in the low dtype (section 3).
POLICY_COMPUTE_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16",
                         "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


@dataclass(frozen=True)
class LowPrecisionResult(Result):
    """The contract's results for a low-precision example, and, for every value, the
    largest difference a backend's may have from it (a Result of arrays)."""

    allowed: Result = None


def compute_dtype(example):
    """The dtype an example's arithmetic runs in: its layer policy's compute dtype where
    it has a policy other than float32, else the cell's dtype."""
    policy = dtype_policy_of(example)
    return POLICY_COMPUTE_DTYPES[policy] if policy != "float32" else example.dtype


def applies_to(example):
    """Whether section 3's low-precision tolerance is the one to compare `example` with."""
    return is_low_precision(compute_dtype(example))


def in_float64(example):
    """The example with every array and weight as float64 (the same values, exactly)."""
    as64 = lambda arrays: tuple(np.asarray(a, np.float64) for a in arrays)  # noqa: E731
    spec = CellSpec(replace(example.structure, dtype="float64"), example.spec.weights)
    return example.changed(spec=spec, inputs=as64(example.inputs), initial_states=as64(example.initial_states),
                           constants=as64(example.constants))


def expected_in_low_precision(example):
    """The contract's results for a float16 or bfloat16 example (computed in float64,
    rounded to the example's dtype at the end), with what each value may differ by."""
    wide = in_float64(example)
    exact = _run(wide, NumpyOps())
    rng = np.random.default_rng(SEED)
    u = UNIT_ROUNDOFF[example.dtype]
    spread = optree.tree_map(np.zeros_like, exact)
    for _ in range(RUNS):
        perturbed = _run(wide, RoundingOps(u, rng))
        spread = optree.tree_map(lambda s, p, e: np.fmax(s, np.abs(p - e)), spread, perturbed, exact)
    dtype = numpy_dtype(example.dtype)
    rounded = optree.tree_map(lambda a: np.asarray(a).astype(dtype), exact)
    allowed = optree.tree_map(lambda s, e: SPREAD_FACTOR * s + BASE * u * _scale(e), spread, exact)
    return LowPrecisionResult(*rounded, allowed=Result(*allowed))


def _run(wide, ops):
    """(last_output, outputs, new_states) of the float64 reference with the step in `ops`."""
    step = make_step(wide.structure, ops, wide.spec.weight_arrays())
    if isinstance(ops, RoundingOps):
        step = ops.storing(step)
    with np.errstate(all="ignore"):
        last_output, outputs, states = reference.rnn(step, **wide.call_arguments())
    return last_output, outputs, list(states)


class RoundingOps(NumpyOps):
    """NumPy in float64, each operation followed by a random relative error of at most
    `u`, as a step in a dtype of unit roundoff `u` rounds: a product's error scales with
    the sum of the magnitudes it adds up (|x| @ |w|), an activation's with its value."""

    def __init__(self, u, rng):
        self.u, self.rng = u, rng

    def _error(self, shape):
        return self.u * self.rng.uniform(-1.0, 1.0, shape)

    def matmul(self, x, w):
        exact = np.matmul(x, w)
        return exact + np.matmul(np.abs(x), np.abs(w)) * self._error(exact.shape)

    def _rounded(self, value):
        value = np.asarray(value)
        return value * (1 + self._error(value.shape))

    def tanh(self, x):
        return self._rounded(np.tanh(x))

    def sigmoid(self, x):
        return self._rounded(super().sigmoid(x))

    def log(self, x):
        return self._rounded(np.log(x))

    def sqrt(self, x):
        return self._rounded(np.sqrt(x))

    def reciprocal(self, x):
        return self._rounded(1 / x)

    def storing(self, step):
        """`step` whose outputs and new states are rounded as they are stored (this also
        stands for the rounding of `state + 1` and of a bias added)."""

        def stored(inputs, states_and_constants):
            output, new_states = step(inputs, states_and_constants)
            return optree.tree_map(self._rounded, output), [self._rounded(s) for s in new_states]

        return stored


def _scale(values):
    values = np.abs(np.asarray(values, np.float64))
    return np.maximum(np.where(np.isfinite(values), values, 0), 1.0)


def allowed_error(example, want, steps):
    """A layer's bound (section 3): the largest |got - want| allowed at each value of
    `want`, a value carried through `steps` steps."""
    u = UNIT_ROUNDOFF[compute_dtype(example)]
    return u * (BASE + PER_STEP * np.asarray(steps, np.float64)) * _scale(want)
