"""The handful of array operations a cell needs, once per array library.

A cell's step function is written once (`cells.build.make_step`) against this tiny
namespace, so the same spec runs in NumPy, TensorFlow, JAX, PyTorch and Theano.
Arithmetic (`+`, `* 1`) uses each library's operators directly. Each library is imported
only when its namespace is first used, so a missing framework costs nothing until asked for.
"""

import importlib

from cells.spec import INPUT_TRANSFORMS


class Ops:
    """Base: subclasses name their module and spell the operations their library names differently."""

    name = None
    module = None

    @property
    def lib(self):
        return importlib.import_module(self.module)

    def reshape(self, x, shape):
        return self.lib.reshape(x, shape)

    def concat(self, xs):
        return self.lib.concatenate(list(xs), axis=-1)

    def matmul(self, x, w):
        return self.lib.matmul(x, w)

    def tanh(self, x):
        return self.lib.tanh(x)

    def sigmoid(self, x):
        return 1 / (1 + self.lib.exp(-x))

    def linear(self, x):
        return x

    def activation(self, name):
        return getattr(self, name)

    # The input transforms (cells.spec.INPUT_TRANSFORMS): elementwise, defined on part of the line.
    def log(self, x):
        return self.lib.log(x)

    def sqrt(self, x):
        return self.lib.sqrt(x)

    def reciprocal(self, x):
        return 1 / x

    def transform(self, name):
        """The input transform `name` as a function; "none" is the identity."""
        if name not in INPUT_TRANSFORMS:
            raise ValueError(f"unknown input transform {name!r}; valid: {', '.join(INPUT_TRANSFORMS)}")
        return self.linear if name == "none" else getattr(self, name)


class NumpyOps(Ops):
    name, module = "numpy", "numpy"

    def matmul(self, x, w):
        # ml_dtypes' bfloat16 matmul returns float32: round back to the operands' dtype,
        # as the frameworks do (accumulate wide, store in the dtype of the step).
        np = self.lib
        product, dtype = np.matmul(x, w), np.result_type(x, w)
        return product if product.dtype == dtype else product.astype(dtype)


class TensorFlowOps(Ops):
    name, module = "tensorflow", "tensorflow"

    def concat(self, xs):
        return self.lib.concat(list(xs), axis=-1)

    def sigmoid(self, x):
        return self.lib.sigmoid(x)

    def log(self, x):
        return self.lib.math.log(x)


class JaxOps(Ops):
    name, module = "jax", "jax.numpy"

    def sigmoid(self, x):
        # Not the base class' 1 / (1 + exp(-x)): its derivative is 0 * inf = NaN once
        # exp(-x) overflows (x < -709 in float64), where the sigmoid is flat, so JAX's
        # gradients of a saturated cell would be NaN for no fault of the backend.
        return importlib.import_module("jax.nn").sigmoid(x)


class TorchOps(Ops):
    name, module = "torch", "torch"

    def concat(self, xs):
        return self.lib.cat(list(xs), dim=-1)

    def sigmoid(self, x):
        return self.lib.sigmoid(x)


class TheanoOps(Ops):
    name, module = "theano", "theano.tensor"

    def reshape(self, x, shape):
        # Theano types a dimension that a constant shape fixes at 1 as "broadcastable"
        # (a `col`, not a `matrix`): scan then rejects a step whose new state is typed
        # differently from the state it received, and `T.squeeze` drops such dimensions.
        # In the other libraries a dimension of size 1 is an ordinary dimension, so the
        # result is typed with no broadcastable dimension, like the adapter's variables.
        return self.lib.unbroadcast(x.reshape(shape, ndim=len(shape)), *range(len(shape)))

    def matmul(self, x, w):
        return self.lib.dot(x, w)

    def sigmoid(self, x):
        return self.lib.nnet.sigmoid(x)


class KerasOps(Ops):
    """`keras.ops`: the same calls on every Keras 3 backend, building that backend's tensors
    (OpenVINO graph nodes under KERAS_BACKEND=openvino). Used in the processes that import
    Keras with their backend chosen (the layer and keras-openvino workers); not in OPS,
    since what it builds depends on the backend Keras was imported with."""

    name, module = "keras", "keras.ops"

    def sigmoid(self, x):
        return self.lib.sigmoid(x)


OPS = {ops.name: ops for ops in (NumpyOps(), TensorFlowOps(), JaxOps(), TorchOps(), TheanoOps())}


def get_ops(name):
    """The ops namespace for an array library name; a clear error for an unknown one."""
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"unknown ops {name!r}; valid: {', '.join(sorted(OPS))}") from None
