"""More data for a drawn example's compiled configuration: its "sibling" data sets.

A compiled mode (tf.function, XLA, jax.jit, Theano, a Keras model's predict) pays for a
trace once per cell structure, options and shapes, then runs each new data set in
milliseconds. Hypothesis draws a new structure or new options in most examples (the
corners are what the suite is for), so most examples would pay for a trace and check one
data set. The properties therefore also run, in compiled modes, a few siblings of every
drawn example: the same cell structure, options, B, T and mask, with new weights, inputs,
initial states and constants. They reuse the trace the example paid for.

Siblings come from NumPy's generator seeded by the example's own content, not from more
Hypothesis draws: replaying an example (seed, database, @example) replays its siblings
exactly, eager modes pay nothing for data they do not run, and Hypothesis still shrinks
the drawn example (a sibling that fails is reported whole, with its source, like any
example). Values follow the strategies' ranges (cells/strategies.py), inside the domain of
an input transform (cells/gradient_strategies.py).
"""

import zlib

import numpy as np

from cells.layer_example import MASK_VALUE
from cells.strategies import NONZERO_MIN, VALUE_BOUND, WEIGHT_VALUES

SIBLINGS = 4  # data sets run after the drawn one: at least 4 of every 5 calls reuse a trace


def siblings(example, count=SIBLINGS):
    """`count` examples like `example` with new values, the same on every call."""
    rng = np.random.default_rng(_content_seed(example))
    return [_resampled(example, rng) for _ in range(count)]


def _content_seed(example):
    """A seed that depends on everything drawn, stable across processes (unlike hash())."""
    arrays = [*example.inputs, *example.initial_states, *example.constants]
    arrays += [w for spec in _specs(example) for w in spec.weight_arrays()]
    if example.mask is not None:
        arrays.append(example.mask)
    digest = zlib.crc32(repr(example).encode())
    for array in arrays:
        digest = zlib.crc32(np.ascontiguousarray(array).tobytes(), digest)
    return digest


def _specs(example):
    return getattr(example, "specs", (example.spec,))


def _values(rng, like, nonzero=False):
    if nonzero:
        values = rng.uniform(NONZERO_MIN, VALUE_BOUND, like.shape) * rng.choice((-1.0, 1.0), like.shape)
    else:
        values = rng.uniform(-VALUE_BOUND, VALUE_BOUND, like.shape)
    return values.astype(like.dtype)


def _new_weights(rng, spec):
    weights = tuple(tuple(float(v) for v in rng.choice(WEIGHT_VALUES, len(flat))) for flat in spec.weights)
    return type(spec)(structure=spec.structure, weights=weights)


def _resampled(example, rng):
    specs = [_new_weights(rng, spec) for spec in _specs(example)]
    changes = dict(
        spec=specs[0],
        initial_states=tuple(_values(rng, s, nonzero=True) for s in example.initial_states),
        constants=tuple(_values(rng, c) for c in example.constants),
    )
    if hasattr(example, "layer"):  # cells/layer_example.py: non-zero inputs, MASK_VALUE where masked
        x = _values(rng, example.inputs[0], nonzero=True)
        if example.mask is not None:
            x[~example.mask] = MASK_VALUE
        changes.update(inputs=(x,), stacked=tuple(specs[1:]))
    else:
        inputs = [_values(rng, x) for x in example.inputs]
        inputs[0] = _in_domain(rng, example.inputs[0], example.structure.input_transform)
        changes.update(inputs=tuple(inputs))
    return example.changed(**changes)


def _in_domain(rng, like, transform):
    """New values for the leaf an input transform reads (cells/spec.py), inside its domain
    as the strategies draw them: positive for log and sqrt, non-zero for the reciprocal."""
    if transform == "none":
        return _values(rng, like)
    values = _values(rng, like, nonzero=True)
    return np.abs(values) if transform in ("log", "sqrt") else values
