"""Layer examples of a user's cell (--cell): the suite's layer draws around a fixed cell.

Everything but the cell is drawn as for the suite's own cells (cells/layer_strategies.py):
batch sizes, lengths, every mask family and route, options, initial states,
Bidirectional. The weights are drawn from the suite's grid of exact binary fractions,
one value per entry of each of the cell's weights, so every backend and the reference
compute with the same numbers. A stacked copy is the same cell, built for the previous
copy's output (cells/user_cell.py, `copies`). A tf_keras cell that reads constants gets them drawn
like the inputs; every copy of the cell (stacked, Bidirectional) reads the same ones.
"""

from math import prod

from hypothesis import strategies as st

from cells.layer_strategies import layer_examples, layer_options, stacked_layer_examples
from cells.spec import CellSpec
from cells.strategies import WEIGHT_VALUES, data_arrays


def user_cell_specs(structure):
    """CellSpecs of `structure` with drawn weights."""
    sizes = [prod(shape) for shape in structure.weight_shapes()]
    weights = st.tuples(*[st.lists(st.sampled_from(WEIGHT_VALUES), min_size=n, max_size=n).map(tuple) for n in sizes])
    return st.builds(CellSpec, structure=st.just(structure), weights=weights)


def stacks_with_itself(structure):
    """Whether copies of the cell can take each other's output: it keeps its input's
    shape, or probing built it for the shapes its copies get (`structure.copies`)."""
    return structure.outputs[0].shape == structure.input_shapes[0] or bool(structure.copies)


def user_layer_examples(structure, **kwargs):
    """layer_examples (same keyword arguments) whose every cell is the user's; a stacked
    copy is the cell as built for the previous one's output."""
    by_input = {s.input_shapes[0]: user_cell_specs(s) for s in (*structure.copies[::-1], structure)}

    def cell_specs_for(input_shape=None):
        if input_shape is None:
            return by_input[structure.input_shapes[0]]
        if input_shape not in by_input:
            raise ValueError(f"a copy of the cell cannot take inputs of shape {input_shape}")
        return by_input[input_shape]

    # The cell declares its state_size itself: the suite's int-or-list choice is not drawn.
    kwargs.setdefault("layer_option_strategy", layer_options(state_size_as_int=False))
    examples = layer_examples(cell_specs_for=cell_specs_for, **kwargs)
    if not structure.constant_shapes:
        return examples
    return examples.flatmap(lambda example: _with_constants(example, structure.constant_shapes))


def hands_on_a_sequence(structure):
    """Whether the cell's layer can be the first of a stack the suite's cells follow (L8):
    one vector per step as its output, and no constants to pass along."""
    return len(structure.outputs[0].shape) == 1 and not structure.constant_shapes


def user_stacked_layer_examples(structure):
    """stacked_layer_examples whose first layer is the user's cell, the later ones the
    suite's: what is tested is the mask the user's layer hands on."""
    specs = user_cell_specs(structure)
    return stacked_layer_examples(cell_specs_for=lambda input_shape=None: specs, first_layer_fixed={"state_size_as_int": False})


def _with_constants(example, constant_shapes):
    """The example with drawn constants, one (B, *shape) array per --constant-shape (a
    tf_keras cell's; the suite's layer cells have none, so their draws are unchanged)."""
    arrays = [data_arrays("float32", (example.batch,) + tuple(shape), nonzero=True) for shape in constant_shapes]
    return st.tuples(*arrays).map(lambda constants: example.changed(constants=tuple(constants)))
