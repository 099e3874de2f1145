"""One step of Keras 3's ConvLSTM cells (ConvLSTM1D, ConvLSTM2D), in float64 NumPy (issue 41).

`conv_lstm_step` follows ConvLSTMCell.call in Keras 3.15.1, keras/src/layers/rnn/conv_lstm.py
240-298 (the comments cite the lines), for data_format="channels_last" (the default), and
returns the step function `conformance.contract.reference.rnn` runs. The convolution is
written out: one matrix product per kernel offset, over the strided, dilated slice of the
padded input that offset sees.
"""

import itertools

import numpy as np

from conformance.contract.builtin_activations import activation as activation_named
from conformance.contract.builtin_cells import split_bias


def as_tuple(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def conv_output_size(size, kernel, stride, dilation, padding):
    """Keras' output length of one spatial axis (keras/src/ops/operation_utils.py 215-235,
    compute_conv_output_shape): valid floor((n - d (k - 1) - 1) / s) + 1, same floor((n - 1) / s) + 1."""
    if padding == "valid":
        return (size - dilation * (kernel - 1) - 1) // stride + 1
    return (size - 1) // stride + 1


def same_padding(size, kernel, stride, dilation):
    """(before, after) of "same": the total the last window needs, the odd one after.

    Keras hands "same" to the backend (tensorflow/nn.py conv: tf.nn.convolution with
    "SAME"; jax/nn.py: lax "SAME"), which pads max((out - 1) s + d (k - 1) + 1 - n, 0) in
    all, half of it (rounded down) before."""
    out = conv_output_size(size, kernel, stride, dilation, "same")
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv(x, kernel, strides, padding, dilation_rate):
    """ops.conv, channels_last: x (B, *spatial, C_in), kernel (*kernel_size, C_in, C_out)."""
    rank = kernel.ndim - 2
    kernel_size = kernel.shape[:rank]
    spatial = x.shape[1:1 + rank]
    outs = [conv_output_size(n, k, s, d, padding)
            for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]
    if padding == "same":
        pads = [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    result = np.zeros((x.shape[0], *outs, kernel.shape[-1]))
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        # out[b, o, :] += x[b, o * s + offset * d, :] @ kernel[offset], along every axis.
        window = tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                       for j, d, o, s in zip(offset, dilation_rate, outs, strides))
        result += np.einsum("b...c,cf->b...f", x[(slice(None),) + window], kernel[offset])
    return result


def conv_lstm_step(weights, rank, padding="valid", strides=1, dilation_rate=1, activation="tanh",
                   recurrent_activation="sigmoid"):
    """ConvLSTMCell of rank 1 or 2. Weights: kernel (*kernel_size, C_in, 4 filters),
    recurrent_kernel (*kernel_size, filters, 4 filters), bias (4 filters,), gates i, f, c, o
    along the last axis (conv_lstm.py 187-238, split in 268-281)."""
    kernel, recurrent_kernel, bias = split_bias(weights, 3)
    assert kernel.ndim == rank + 2, f"a rank-{rank} kernel has {rank + 2} axes, got {kernel.shape}"
    strides, dilation_rate = as_tuple(strides, rank), as_tuple(dilation_rate, rank)
    padding = padding.lower()  # argument_validation.standardize_padding
    act, recurrent_act = activation_named(activation), activation_named(recurrent_activation)
    filters = recurrent_kernel.shape[-2]

    def gate(m, k):  # k 0: i, 1: f, 2: c, 3: o, along the last axis (ops.split at axis rank + 1)
        return m[..., k * filters:(k + 1) * filters]

    def input_conv(x, k):  # conv_lstm.py 323-339: the layer's strides, padding and dilation
        out = conv(x, gate(kernel, k), strides, padding, dilation_rate)
        return out if bias is None else out + gate(bias, k)  # bias broadcast over channels_last

    def recurrent_conv(h, k):  # 341-348: always stride 1, "same", no dilation
        return conv(h, gate(recurrent_kernel, k), (1,) * rank, "same", (1,) * rank)

    def step(inputs_t, states):
        x = np.asarray(inputs_t, dtype=np.float64)
        h_prev, c_prev = states[0], states[1]  # 241-242
        i = recurrent_act(input_conv(x, 0) + recurrent_conv(h_prev, 0))  # 283, 288, 293
        f = recurrent_act(input_conv(x, 1) + recurrent_conv(h_prev, 1))  # 284, 289, 294
        c = f * c_prev + i * act(input_conv(x, 2) + recurrent_conv(h_prev, 2))  # 285, 290, 295
        o = recurrent_act(input_conv(x, 3) + recurrent_conv(h_prev, 3))  # 286, 291, 296
        h = o * act(c)  # 297
        return h, [h, c]  # 298

    return step
