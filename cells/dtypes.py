"""The dtypes a cell can have, by name, and what each one can hold.

NumPy has float16 but no bfloat16; `ml_dtypes` (which JAX and TensorFlow use for theirs)
adds it, so a bfloat16 example is a NumPy array like any other. Every module turns a
dtype name into a NumPy dtype here, never with `np.dtype(name)` directly, which does not
know "bfloat16".
"""

import numpy as np

FULL_PRECISION = ("float32", "float64")
LOW_PRECISION = ("float16", "bfloat16")  # CONTRACT.md section 3, "Low precision"
ALL = FULL_PRECISION + LOW_PRECISION
# The unit roundoff u = 2**-p of a dtype with p bits of significand (the implicit one
# included): a correctly rounded result is within u of the exact one, relatively.
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}


def numpy_dtype(name):
    """The NumPy dtype called `name` (one of ALL); a clear error for any other name."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    if name not in ALL:
        raise ValueError(f"unknown dtype {name!r}; valid: {', '.join(ALL)}")
    return np.dtype(name)


def is_low_precision(name):
    return name in LOW_PRECISION


def largest(name):
    """The largest finite value of the dtype called `name`."""
    if name == "bfloat16":
        import ml_dtypes

        return float(ml_dtypes.finfo(numpy_dtype(name)).max)
    return float(np.finfo(numpy_dtype(name)).max)
