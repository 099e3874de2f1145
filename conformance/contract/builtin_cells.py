"""One step of Keras 3's built-in cells (SimpleRNN, LSTM, GRU), in float64 NumPy (issue 41).

Each factory takes the weights as the layer stores them (`layer.cell.get_weights()`) and
returns the step function `conformance.contract.reference.rnn` runs: `step(inputs_t, states)
-> (output_t, new_states)`. The arithmetic follows the cells' `call` in Keras 3.15.1,
keras/src/layers/rnn/{simple_rnn,lstm,gru}.py; the comments cite the lines. The formulas do
not depend on `implementation` (1 or 2: the same sums, grouped differently) nor on
`unit_forget_bias` (an initializer only, lstm.py 165-181). The ConvLSTM cells are in
builtin_conv_cells.py; the activations in builtin_activations.py.
"""

import numpy as np

from conformance.contract.builtin_activations import activation as activation_named


def float64(weights):
    return [np.asarray(w, dtype=np.float64) for w in weights]


def split_bias(weights, count):
    """(kernel, recurrent_kernel, bias or None): use_bias=False stores no bias (e.g.
    simple_rnn.py 143-152), so two weights mean none."""
    kernel, recurrent_kernel, *rest = float64(weights)
    assert len(rest) <= 1, f"{count} weights expected at most, got {2 + len(rest)}"
    return kernel, recurrent_kernel, (rest[0] if rest else None)


def simple_rnn_step(weights, activation="tanh"):
    """SimpleRNNCell: h = act(x K + b + h_prev U). Weights: kernel (in, u),
    recurrent_kernel (u, u), bias (u,) (simple_rnn.py 128-152)."""
    kernel, recurrent_kernel, bias = split_bias(weights, 3)
    act = activation_named(activation)

    def step(inputs_t, states):
        x = np.asarray(inputs_t, dtype=np.float64)
        h_prev = states[0]  # simple_rnn.py 155
        h = x @ kernel  # 161
        if bias is not None:
            h = h + bias  # 162-163
        output = act(h + h_prev @ recurrent_kernel)  # 167-169
        return output, [output]  # 171-172: the output is the new state

    return step


def lstm_step(weights, activation="tanh", recurrent_activation="sigmoid"):
    """LSTMCell. Weights: kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u,), the
    columns in gate order i, f, c, o (lstm.py 150-193, split in 246/252 and 283)."""
    kernel, recurrent_kernel, bias = split_bias(weights, 3)
    act, recurrent_act = activation_named(activation), activation_named(recurrent_activation)
    units = recurrent_kernel.shape[0]

    def step(inputs_t, states):
        x = np.asarray(inputs_t, dtype=np.float64)
        h_prev, c_prev = states[0], states[1]  # lstm.py 231-232: [h, c]
        z = x @ kernel + h_prev @ recurrent_kernel  # 277-279
        if bias is not None:
            z = z + bias  # 280-281
        z_i, z_f, z_c, z_o = (z[:, k * units:(k + 1) * units] for k in range(4))  # 283
        i = recurrent_act(z_i)  # 224
        f = recurrent_act(z_f)  # 225
        c = f * c_prev + i * act(z_c)  # 226
        o = recurrent_act(z_o)  # 227
        h = o * act(c)  # 286
        return h, [h, c]  # 287

    return step


def gru_step(weights, activation="tanh", recurrent_activation="sigmoid", reset_after=True):
    """GRUCell. Weights: kernel (in, 3u), recurrent_kernel (u, 3u) in gate order z, r, h;
    bias (3u,) with reset_after=False, (2, 3u) with True: row 0 for the input, row 1 for
    the recurrent matmul (gru.py 148-178)."""
    kernel, recurrent_kernel, bias = split_bias(weights, 3)
    act, recurrent_act = activation_named(activation), activation_named(recurrent_activation)
    units = recurrent_kernel.shape[0]
    input_bias, recurrent_bias = None, None
    if bias is not None:
        if reset_after:
            assert bias.shape == (2, 3 * units), f"reset_after=True stores a (2, 3u) bias, got {bias.shape}"
            input_bias, recurrent_bias = bias[0], bias[1]  # gru.py 191-194
        else:
            assert bias.shape == (3 * units,), f"reset_after=False stores a (3u,) bias, got {bias.shape}"
            input_bias = bias  # 188-189: no recurrent bias

    def columns(m, gate):  # gate 0: z, 1: r, 2: h
        return m[:, gate * units:(gate + 1) * units]

    def step(inputs_t, states):
        x = np.asarray(inputs_t, dtype=np.float64)
        h_prev = states[0]  # gru.py 183-185
        matrix_x = x @ kernel  # 261
        if input_bias is not None:
            matrix_x = matrix_x + input_bias  # 262-264
        x_z, x_r, x_h = columns(matrix_x, 0), columns(matrix_x, 1), columns(matrix_x, 2)  # 266
        if reset_after:
            matrix_inner = h_prev @ recurrent_kernel  # 270
            if recurrent_bias is not None:
                matrix_inner = matrix_inner + recurrent_bias  # 271-272
        else:
            matrix_inner = h_prev @ recurrent_kernel[:, :2 * units]  # 275-277
        recurrent_z, recurrent_r = columns(matrix_inner, 0), columns(matrix_inner, 1)  # 279-280
        z = recurrent_act(x_z + recurrent_z)  # 283
        r = recurrent_act(x_r + recurrent_r)  # 284
        if reset_after:
            recurrent_h = r * columns(matrix_inner, 2)  # 281, 286-287: r after the matmul and its bias
        else:
            recurrent_h = (r * h_prev) @ columns(recurrent_kernel, 2)  # 288-291: r before the matmul
        hh = act(x_h + recurrent_h)  # 293
        h = z * h_prev + (1.0 - z) * hh  # 296
        return h, [h]  # 297-298

    return step
