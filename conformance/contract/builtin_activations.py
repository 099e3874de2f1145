"""Keras 3's activations by name, in float64 NumPy, for the built-in cell references.

The built-in cells take `activation` and `recurrent_activation` by name and look them up in
`keras.activations.get` (keras/src/activations/__init__.py, ALL_OBJECTS_DICT: every function
of keras/src/activations/activations.py under its own name, plus the aliases swish and
hard_swish). Each is written here as keras/src/activations/activations.py calls it, with the
defaults it passes, after the formulas of keras/src/backend/numpy/nn.py.

Covered: every name `get` knows except two a cell cannot call by name: `threshold` has two
required arguments besides x, and `glu` halves the last axis, so its output no longer has
the units the cell adds it to. The axis activations (softmax, log_softmax, sparsemax) act on
the last axis, as their default axis=-1 says: the units, or the filters of a ConvLSTM.
`None` is `linear` (activations.get).
"""

import math

import numpy as np


def relu(x):
    return np.maximum(x, 0.0)  # activations.relu: negative_slope=0, no max_value, threshold=0


def leaky_relu(x):
    return np.maximum(x, 0.2 * x)  # activations.leaky_relu: negative_slope=0.2


def relu6(x):
    return np.minimum(np.maximum(x, 0.0), 6.0)


def elu(x, alpha=1.0):
    return np.where(x >= 0.0, x, alpha * np.expm1(x))  # activations.elu: alpha=1.0


def selu(x):
    alpha = 1.6732632423543772848170429916717  # numpy/nn.py selu
    scale = 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def celu(x):
    alpha = 1.0  # activations.celu: alpha=1.0
    return np.maximum(x, 0.0) + alpha * np.expm1(np.minimum(x, 0.0) / alpha)


def softplus(x):
    return np.logaddexp(x, 0.0)  # log(1 + exp(x))


def softsign(x):
    return x / (1.0 + np.abs(x))


def soft_shrink(x):
    threshold = 0.5  # activations.soft_shrink: threshold=0.5
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0.0))


def hard_shrink(x):
    threshold = 0.5  # activations.hard_shrink: threshold=0.5
    return np.where(np.abs(x) > threshold, x, 0.0)


def sparse_plus(x):
    return np.where(x <= -1.0, 0.0, np.where(x < 1.0, 0.25 * (x + 1.0) ** 2, x))


def silu(x):
    return x * sigmoid(x)


def squareplus(x):
    b = 4.0  # activations.squareplus: b=4
    return (x + np.sqrt(x**2 + b)) / 2.0


def gelu(x):
    # activations.gelu passes approximate=False: the exact form, x * Phi(x) through erf.
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return x * (erf(x / np.sqrt(2.0)) + 1.0) / 2.0


def tanh(x):
    return np.tanh(x)


def tanh_shrink(x):
    return x - np.tanh(x)


def hard_tanh(x):
    return np.clip(x, -1.0, 1.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sparse_sigmoid(x):
    return np.where(x <= -1.0, 0.0, np.where(x >= 1.0, 1.0, 0.5 * (x + 1.0)))


def hard_sigmoid(x):
    # Keras 3's: relu6(x + 3) / 6, i.e. clip(x / 6 + 1/2, 0, 1) (numpy/nn.py hard_sigmoid);
    # not Keras 2's clip(0.2 x + 0.5, 0, 1).
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def hard_silu(x):
    return x * hard_sigmoid(x)


def exponential(x):
    return np.exp(x)


def log_sigmoid(x):
    return -softplus(-x)


def mish(x):
    return x * np.tanh(softplus(x))  # activations.Mish.static_call


def linear(x):
    return x


def softmax(x):
    exp_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return exp_x / np.sum(exp_x, axis=-1, keepdims=True)


def log_softmax(x):
    max_x = np.max(x, axis=-1, keepdims=True)
    return x - max_x - np.log(np.sum(np.exp(x - max_x), axis=-1, keepdims=True))


def sparsemax(x):
    """Martins and Astudillo (2016): the Euclidean projection of x onto the simplex."""
    ordered = -np.sort(-x, axis=-1)  # descending
    cumulative = np.cumsum(ordered, axis=-1)
    rank = np.arange(1, x.shape[-1] + 1)
    support = ordered - (cumulative - 1.0) / rank > 0  # the k largest entries stay
    k = np.sum(support, axis=-1, keepdims=True)
    tau = (np.sum(np.where(support, ordered, 0.0), axis=-1, keepdims=True) - 1.0) / k
    return np.maximum(x - tau, 0.0)


ACTIVATIONS = {
    f.__name__: f
    for f in (relu, leaky_relu, relu6, elu, selu, celu, softplus, softsign, soft_shrink, hard_shrink, sparse_plus,
              silu, squareplus, gelu, tanh, tanh_shrink, hard_tanh, sigmoid, sparse_sigmoid, hard_sigmoid,
              hard_silu, exponential, log_sigmoid, mish, linear, softmax, log_softmax, sparsemax)
}
ACTIVATIONS["swish"] = silu  # the aliases of activations/__init__.py
ACTIVATIONS["hard_swish"] = hard_silu
NOT_BY_NAME = ("threshold", "glu")  # known to `get`, but a cell cannot use them (docstring)


def activation(name):
    """The activation a cell looks up for `name`; None is linear, as in activations.get."""
    return linear if name is None else ACTIVATIONS[name]
