"""What a run of `rnn` returns, as the references and the backends hand it on."""

from dataclasses import dataclass

import numpy as np
import optree


@dataclass(frozen=True)
class Result:
    """What `rnn` returned, as NumPy nests: (last_output, outputs, new_states)."""

    last_output: object
    outputs: object
    new_states: object

    @classmethod
    def from_framework(cls, returned, to_numpy=np.asarray):
        last_output, outputs, new_states = returned
        convert = lambda tree: optree.tree_map(to_numpy, tree)  # noqa: E731
        return cls(convert(last_output), convert(outputs), convert(list(new_states)))
