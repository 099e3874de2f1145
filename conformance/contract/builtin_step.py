"""The reference step of a built-in cell example (issue 41): the literal one-step reference
of conformance/contract/builtin_cells.py or builtin_conv_cells.py that the cell's kind
names, over the weights the layer holds. `layer_reference` runs it through the reference
loop, like every other cell: the loop's rules (R1-R14) do not depend on the cell."""

from conformance.contract.builtin_cells import gru_step, lstm_step, simple_rnn_step
from conformance.contract.builtin_conv_cells import conv_lstm_step


def builtin_step(structure, weights):
    """step(x_t, states) -> (output_t, new_states) of a cells.builtin_cell structure."""
    s = structure
    if s.kind == "SimpleRNN":
        return simple_rnn_step(weights, s.activation)
    if s.kind == "LSTM":
        return lstm_step(weights, s.activation, s.recurrent_activation)
    if s.kind == "GRU":
        return gru_step(weights, s.activation, s.recurrent_activation, s.reset_after)
    return conv_lstm_step(weights, s.rank, s.padding, s.strides, s.dilation_rate, s.activation, s.recurrent_activation)
