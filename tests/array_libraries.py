"""Test helper: NumPy arrays into each array library of cells/ops.py and back, for the tests
that run one cell step in every library (tests/cells/test_cells.py, tests/cells/test_gradient_cells.py)."""

import numpy as np
import pytest

from cells.ops import OPS

# The libraries other than NumPy, as test parameters. Theano's is e2e: where it is installed
# (its managed environment), `import theano` asks the C++ compiler its version, in a process.
OTHER_LIBRARIES = [pytest.param(name, marks=pytest.mark.e2e) if name == "theano" else name for name in OPS if name != "numpy"]


def converters(library):
    """(NumPy -> the library's arrays, the library's arrays -> NumPy)."""
    if library == "tensorflow":
        import tensorflow as tf

        return tf.convert_to_tensor, lambda t: t.numpy()
    if library == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return jnp.asarray, np.asarray
    if library == "torch":
        import torch

        return torch.from_numpy, lambda t: t.numpy()
    from conformance.backends.theano_env import prepare

    prepare()  # before the first import of theano (its flags, Python 3.11 aliases)
    import theano

    return theano.shared, lambda t: t.eval()


def flat(tree):
    """The arrays of a nest of lists and tuples, in order."""
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in flat(item)]
    return [tree]


def assert_step_matches_numpy(library, spec, inputs, states_and_constants):
    """One step of `spec` in `library` (cells/ops.py) equals the NumPy step on the same data."""
    from cells.build import make_step
    from cells.ops import get_ops

    expected = make_step(spec.structure, get_ops("numpy"), spec.weight_arrays())(inputs, states_and_constants)
    convert, back = converters(library)
    step = make_step(spec.structure, get_ops(library), [convert(w) for w in spec.weight_arrays()])
    tree = lambda f, t: tuple(tree(f, x) for x in t) if isinstance(t, (tuple, list)) else f(t)  # noqa: E731
    actual = step(tree(convert, inputs), tree(convert, states_and_constants))
    tolerance = dict(rtol=1e-5, atol=1e-6) if spec.structure.dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for a, e in zip(flat(actual), flat(expected)):
        np.testing.assert_allclose(back(a), e, **tolerance)


def assert_rendered_step_is_make_step(spec, inputs, states_and_constants):
    """The NumPy source cells/render.py prints for `spec`, executed, computes exactly what
    cells.build.make_step computes."""
    from cells.build import make_step
    from cells.ops import get_ops
    from cells.render import render_cell

    namespace = {"np": np}
    exec(render_cell(spec), namespace)  # noqa: S102 - our own generated source
    expected = make_step(spec.structure, get_ops("numpy"), spec.weight_arrays())(inputs, states_and_constants)
    actual = namespace["step"](inputs, states_and_constants)
    for a, e in zip(flat(actual), flat(expected)):
        np.testing.assert_array_equal(a, e)
