"""Value-and-grad for Keras 2.3.1's Theano `rnn` (contract section 5, G1-G4).

One `theano.function` per configuration returns the loop's results and `theano.grad` of
L (conformance/contract/gradients.py) with respect to every input leaf, initial state, constant
and cell weight. The data, the cell weights and the loss weights are all its inputs
(symbolic variables of unknown sizes, as the forward compile builds them), so the
siblings of an example (cells/resample.py) and the variants of a metamorphic property run
the function the first example compiled. The mask is an input but is not differentiated.

A source the loss does not depend on (a constant the cell never reads, an input the
outputs only echo at masked steps) gets zeros: `theano.grad(..., disconnected_inputs=
"ignore", return_disconnected="zero")`. Nothing is sanitised: NaN at masked steps go in
as they are, and whatever Theano's backward pass makes of them comes back (G3).
"""

import optree

from conformance.contract.gradients import DIFFERENTIATED, Gradients, loss_pairs

DATA_PARTS = DIFFERENTIATED[:3]  # ("inputs", "initial_states", "constants"); the mask is not differentiated


def data_leaves(data):
    """The leaves of the `rnn` data arguments (a dict), the part each belongs to
    ("inputs", "initial_states", "mask", "constants"), and the dict's structure."""
    paths, leaves, tree = optree.tree_flatten_with_path(data)
    return leaves, tuple(path[0] for path in paths), tree


class _Ranked:
    """A Theano variable as `loss_pairs` sees it: its rank, and no size (Theano knows none
    before it runs). `loss_pairs` checks the ranks; the sizes are checked when it runs,
    since L multiplies unbroadcastable variables, so a wrong shape raises there (a crash),
    never broadcasts into L."""

    def __init__(self, tensor):
        self.tensor, self.shape = tensor, (None,) * tensor.ndim


def _ranked(nests):
    return optree.tree_map(_Ranked, nests)


class ValueAndGrad:
    """A compiled value-and-grad function and how to read what it returns."""

    def __init__(self, function, returned_tree, counts):
        self.function, self.returned_tree, self.counts = function, returned_tree, counts

    def __call__(self, flat_data, weights, flat_loss_weights):
        """`((last_output, outputs, new_states), Gradients)` as NumPy nests."""
        values = list(self.function(*flat_data, *weights, *flat_loss_weights))
        results = optree.tree_unflatten(self.returned_tree, values[: self.returned_tree.num_leaves])
        grads = iter(values[self.returned_tree.num_leaves :])
        return results, Gradients(*(tuple(next(grads) for _ in range(n)) for n in self.counts))


def compile_value_and_grad(step_function, static, data, weights, loss_weight_parts):
    """A `ValueAndGrad` for `theano_backend.rnn(step_function(weight variables), **data,
    **static)`: `data` and `weights` are NumPy (they give dtypes and ranks only), and
    `loss_weight_parts` are `gradients.weight_parts(loss_weights)`."""
    from conformance.backends import theano_env

    theano_env.prepare()
    import theano
    import theano.tensor as T
    from keras.backend import theano_backend

    def variable(array, name):
        # No broadcastable dimension: B, T and any size may be 1 in a later call.
        return T.TensorType(array.dtype.name, (False,) * array.ndim)(name)

    flat_data, parts, data_tree = data_leaves(data)
    flat_loss, loss_tree = optree.tree_flatten(loss_weight_parts)
    data_vars = [variable(a, f"data{i}") for i, a in enumerate(flat_data)]
    weight_vars = [variable(w, f"weight{i}") for i, w in enumerate(weights)]
    loss_vars = [variable(w, f"loss_weight{i}") for i, w in enumerate(flat_loss)]

    symbolic = optree.tree_unflatten(data_tree, list(data_vars))
    if "initial_states" in symbolic:
        symbolic["initial_states"] = list(symbolic["initial_states"])  # Keras 2 assigns into this list
    returned = theano_backend.rnn(step_function(weight_vars), **symbolic, **static)
    returned = (returned[0], returned[1], list(returned[2]))
    leaves, returned_tree = optree.tree_flatten(returned)
    loss_nests = optree.tree_unflatten(loss_tree, list(loss_vars))

    pairs = [(leaf.tensor, weight.tensor) for leaf, weight in loss_pairs(*map(_ranked, (returned, loss_nests)))]
    loss = sum(T.sum(weight * T.unbroadcast(leaf, *range(leaf.ndim))) for leaf, weight in pairs)

    # G1: every input leaf, initial state, constant and cell weight; part by part, in the
    # order Gradients lists them.
    wrt = [v for part in DATA_PARTS for v, p in zip(data_vars, parts) if p == part] + weight_vars
    counts = [sum(p == part for p in parts) for part in DATA_PARTS] + [len(weight_vars)]
    grads = theano.grad(loss, wrt, disconnected_inputs="ignore", return_disconnected="zero") if wrt else []
    function = theano.function(data_vars + weight_vars + loss_vars, leaves + list(grads), on_unused_input="ignore")
    return ValueAndGrad(function, returned_tree, counts)
