"""A built-in cell as data (cells/builtin_cell.py): its shapes, its saved form, its checks."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from cells.builtin_cell import BuiltinCellStructure
from cells.builtin_strategies import builtin_layer_examples, builtin_stack_examples
from cells.case_fields import CaseError
from cells.serialize import example_from_dict, example_to_dict

SOME = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@SOME
@given(example=builtin_layer_examples())
def test_a_saved_example_reads_back_the_same(example):
    back = example_from_dict(example_to_dict(example))
    assert back.spec.structure == example.spec.structure and back.layer == example.layer
    for a, b in zip(back.spec.weight_arrays(), example.spec.weight_arrays()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.inputs[0], example.inputs[0])


@SOME
@given(example=builtin_stack_examples())
def test_a_saved_stack_of_built_in_layers_reads_back(example):
    back = example_from_dict(example_to_dict(example))
    assert back.next_layers[0].spec.structure == example.next_layers[0].spec.structure


def test_weight_shapes_are_the_layers_own():
    """kernel, recurrent kernel, bias as Keras stores them (builtin_cells.py cites the lines)."""
    gru = BuiltinCellStructure("GRU", 2, (3,), reset_after=True)
    assert gru.weight_shapes() == [(3, 6), (2, 6), (2, 6)]
    assert BuiltinCellStructure("GRU", 2, (3,), reset_after=False).weight_shapes()[2] == (6,)
    assert BuiltinCellStructure("LSTM", 2, (3,), use_bias=False).weight_shapes() == [(3, 8), (2, 8)]
    conv = BuiltinCellStructure("ConvLSTM1D", 2, (4, 3), kernel_size=(2,), strides=(2,), dilation_rate=(1,), padding="valid")
    assert conv.state_shape == (2, 2) and conv.weight_shapes() == [(2, 3, 8), (2, 2, 8), (8,)]


def _saved(**changes):
    example = builtin_layer_examples().example()
    data = example_to_dict(example)
    data["structure"]["builtin_cell"].update(changes.get("cell", {}))
    data["layer"].update(changes.get("layer", {}))
    return data


@pytest.mark.parametrize("changes, message", [
    ({"cell": {"kind": "CuDNNLSTM"}}, "kind"),
    ({"cell": {"activation": "__import__('os')"}}, "activation"),
    ({"layer": {"path": "cudnn"}}, "path"),
])
def test_a_bad_saved_cell_is_refused_in_one_line(changes, message):
    with pytest.raises(CaseError, match=message):
        example_from_dict(_saved(**changes))
