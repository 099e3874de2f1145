"""Turn a cell structure and weight tensors into a Keras-style step function.

The weights are arguments, not constants: a backend running under tf.function, jax.jit
or theano.function passes its own symbolic weights, so one traced function serves every
weight value drawn for the same structure.
"""

from math import prod


def make_step(structure, ops, weights):
    """Return `step(inputs_t, states_and_constants) -> (output_t, new_states)`.

    `weights` are tensors of `ops`' library, in the order of `structure.weight_shapes()`.
    """
    weights = list(weights)
    w_hidden, b_hidden = weights[0], weights[1]
    dense = iter(weights[2:])
    w_states = [next(dense) if s.kind == "dense" else None for s in structure.states]
    w_outputs = [next(dense) if o.kind == "dense" else None for o in structure.outputs]
    hidden_act = ops.activation(structure.hidden_activation)
    transform = ops.transform(structure.input_transform)
    n_states = len(structure.states)

    def flat(x, shape):
        return ops.reshape(x, (-1, prod(shape)))

    def step(inputs_t, states_and_constants):
        leaves = list(inputs_t) if structure.nested_inputs else [inputs_t]
        states = list(states_and_constants[:n_states])
        constants = list(states_and_constants[n_states:])
        flat_inputs = [flat(x, s) for x, s in zip(leaves, structure.input_shapes)]
        # The input transform reads the first leaf only; "echo" outputs keep the raw inputs.
        u = ops.concat(
            [transform(flat_inputs[0])]
            + flat_inputs[1:]
            + [flat(s, spec.shape) for s, spec in zip(states, structure.states)]
            + [flat(c, shape) for c, shape in zip(constants, structure.constant_shapes)]
        )
        z = hidden_act(ops.matmul(u, w_hidden) + b_hidden)

        new_states = []
        for state, spec, w in zip(states, structure.states, w_states):
            if spec.kind == "counter":
                new_states.append(state + 1)
            else:
                act = ops.activation(spec.activation)
                new_states.append(ops.reshape(act(ops.matmul(z, w)), (-1,) + spec.shape))

        outputs = []
        for spec, w in zip(structure.outputs, w_outputs):
            if spec.kind == "state0":
                outputs.append(new_states[0])
            elif spec.kind == "echo":
                outputs.append(ops.reshape(ops.concat(flat_inputs * echo_repeats(structure, spec)), (-1,) + spec.shape))
            else:
                act = ops.activation(spec.activation)
                outputs.append(ops.reshape(act(ops.matmul(z, w)), (-1,) + spec.shape))
        output = tuple(outputs) if structure.nested_output else outputs[0]
        return output, new_states

    return step


def echo_repeats(structure, spec):
    """How many copies of the flat inputs an "echo" output of shape `spec.shape` holds."""
    return prod(spec.shape) // structure.input_size
