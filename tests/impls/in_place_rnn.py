"""--impl loops that zero the caller's inputs at masked steps in place, then run a
correct loop: their results are right (masked inputs are inert, R9), only the caller's
arrays change (R13). One per array library that can be written into: NumPy and torch;
`rnn_torch_control` is the torch one without the write.
"""

import numpy as np
import optree

from numpy_rnn import rnn as numpy_rnn


def zeroing_masked_inputs(rnn):
    """`rnn`, after it zeroed the inputs at masked steps in the caller's arrays or tensors."""

    def loop(step_function, inputs, initial_states, mask=None, **options):
        if mask is not None:
            keep = np.asarray(mask).astype(bool)
            keep = keep.reshape(keep.shape[:2])  # (B, T), or (T, B) when time-major, like the inputs
            for x in optree.tree_leaves(inputs):
                if isinstance(x, np.ndarray):
                    x[~keep] = 0
                else:
                    import torch

                    x[~torch.from_numpy(keep)] = 0
        return rnn(step_function, inputs, initial_states, mask=mask, **options)

    return loop


def _keras_torch_rnn(*args, **kwargs):
    from keras.src.backend.torch.rnn import rnn

    return rnn(*args, **kwargs)


rnn_numpy = zeroing_masked_inputs(numpy_rnn)
rnn_torch = zeroing_masked_inputs(_keras_torch_rnn)
rnn_torch_control = _keras_torch_rnn
