"""The layer properties can fail: each rejects a deliberately broken layer.

The broken layers are built from the layer reference itself, in process (no Keras), with
one fault each: a `Masking` layer whose mask is lost on its way to the loop (L3), and the
2018 loop of keras#11472 underneath (masked steps emit states[0]). The unbroken one is
the control: it passes the same properties, so the failures are the faults' doing.
"""

import numpy as np
import pytest

from conformance.properties import test_layer
from conformance.judge.assertions import Divergence, compare, divergences_in
from conformance.backends.base import Backend, Result
from conformance.contract.layer_reference import layer_outputs
from conformance.research.mutants import MUTANTS
from conformance.contract.reference import rnn as reference_rnn
from conformance.judge.targets import Target


class InProcessLayer(Backend):
    """A 'layer' computed by the layer reference over a given loop; optionally it loses the
    mask a Masking layer computed (the route of L3 that broke in real Kerases)."""

    level = "layer"
    packages = ("numpy",)
    modes = ("call",)

    def __init__(self, name, rnn=reference_rnn, loses_masking_layer_mask=False):
        self.name, self.rnn, self.loses_masking_layer_mask = name, rnn, loses_masking_layer_mask

    def run(self, example, mode):
        if self.loses_masking_layer_mask and example.layer.mask_route == "masking-layer":
            example = example.changed(mask=None)
        with np.errstate(all="ignore"):
            returned = layer_outputs(example, rnn=self.rnn)
        return Result(last_output=[], outputs=returned[0], new_states=returned[1:])


def layer(name, **faults):
    return Target(InProcessLayer(name, **faults), "call")


def test_mask_route_property_rejects_a_layer_that_loses_the_masking_layers_mask(ci_profile_without_shrinking):
    with pytest.raises((Divergence, BaseExceptionGroup)) as failure:
        test_layer.test_mask_routes_agree(target=layer("loses-mask", loses_masking_layer_mask=True))
    assert "L3" in {d.rule for d in divergences_in(failure.value)}


def test_agreement_property_rejects_a_layer_that_loses_the_masking_layers_mask(ci_profile_without_shrinking):
    with pytest.raises((Divergence, BaseExceptionGroup)):
        test_layer.test_layer_agrees_with_reference(target=layer("loses-mask", loses_masking_layer_mask=True))


@pytest.mark.parametrize("repeats", [1, 2])
def test_2018_report_rejects_the_2018_loop_under_a_layer(repeats):
    # (The in-process layer has no unrolled branch: one loop serves both `unroll` values.)
    faulty = layer("2018-loop", rnn=MUTANTS["masked-output-from-states0"].rnn)
    with pytest.raises(Divergence) as failure:
        test_layer.test_2018_report(target=faulty, repeats=repeats, unroll=False)
    assert failure.value.rule == "R4", failure.value


@pytest.mark.parametrize(
    "property_test",
    [
        test_layer.test_layer_agrees_with_reference,
        test_layer.test_mask_routes_agree,
        test_layer.test_bidirectional_agrees_with_reference,
        test_layer.test_stacked_cells_agree_with_reference,
    ],
    ids=lambda p: p.__name__,
)
def test_the_unbroken_layer_passes(property_test):
    property_test(target=layer("reference-layer"))


def test_the_unbroken_layer_passes_the_2018_report():
    for repeats in (1, 2):
        for unroll in (False, True):
            test_layer.test_2018_report(target=layer("reference-layer"), repeats=repeats, unroll=unroll)


def test_rule_naming_reads_each_half_of_a_bidirectional_last_output_at_its_own_last_step():
    """Bidirectional concatenates the two halves' last outputs (L5); the backward run's last
    step is time 0. On the 2018 example (time 2 masked, time 0 not), a wrong forward half is
    a masked output (R4), a wrong backward half is not."""
    example = test_layer.report_2018_layer_example(repeats=2, unroll=False)
    example = example.changed(layer={"bidirectional": True, "return_state": False})
    expected = layer_outputs(example)[0]
    width = expected.shape[-1]
    for half, rule in ((slice(0, width // 2), "R4"), (slice(width // 2, width), "R3")):
        wrong = expected.copy()
        wrong[:, half] += 1.0
        found = compare(Result([], wrong, []), Result([], expected, []), example)
        assert [m.rule for m in found] == [rule], found
