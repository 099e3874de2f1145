"""A gradient finding as a script: the bug report of a divergence of contract section 5.

The script embeds its case as JSON text (a string literal: nothing from the case becomes
code) and runs `conformance.replay.gradient_replay.main` on it, which differentiates the
diverging run through the suite's own adapter, as the property did, and prints the
backend's gradients next to the reference's; it exits 1 while they differ (or the
backend crashes), 0 once they agree. Unlike a forward reproducer it needs
rnn-conformance installed: the gradient is taken by the suite's adapter for that
framework and mode (tape, vjp, autograd or theano.grad inside the same compiled
function), which is what the finding is about. An L7 case (a layer row) replays the
property itself: Keras' gradients and its `train_on_batch` step, in the layer worker.
"""

import json

from cells.render import comment_lines

# Section 5 (function rows) and L7 (layer rows: the layer's gradients, one train_on_batch).
GRADIENT_MODULES = ("test_gradients", "test_layer_gradients")
BUILTIN_GRADIENTS = "test_builtin_layers::test_builtin_layer_gradients_agree_with_reference"  # L7 on a built-in row
# What a one-run forward script cannot show either: a stateful layer over several batches
# (L9, issue 41). Its reproducer replays the property on the case like an L7 one.
STATEFUL = "test_builtin_layers::test_builtin_stateful_layer_carries_its_states"


def is_gradient_property(property_id):
    return bool(property_id) and (property_id.split("::")[0] in GRADIENT_MODULES or property_id == BUILTIN_GRADIENTS)


def is_replayed_property(property_id):
    """True for a case whose reproducer replays its property (gradient_replay.main), not a
    forward script: the gradient properties and the stateful one."""
    return is_gradient_property(property_id) or property_id == STATEFUL


def gradient_script(case, title=None):
    """Source of the reproducer of a saved gradient case (a dict, as save_case writes it)."""
    lines = comment_lines(title)
    lines += [
        "# The gradients of rnn-conformance's loss L (CONTRACT.md section 5), taken by its adapter",
        "# for this backend and mode, next to the reference's central differences, or a stateful",
        "# layer's batches (L9) next to the reference's; exits 1 while they differ (or the backend",
        "# crashes), 0 once they agree. Needs rnn-conformance installed.",
        "from conformance.replay.gradient_replay import main",
        "",
        f"CASE = {case_text(case)!r}",
        "",
        "raise SystemExit(main(CASE))",
        "",
    ]
    return "\n".join(lines)


def case_text(case):
    """The JSON text a reproducer embeds (sorted keys: the same case, the same script)."""
    return json.dumps(case, sort_keys=True)
