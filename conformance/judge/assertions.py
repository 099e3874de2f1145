"""Comparing results, and failing with the contract rule that broke.

Every property ends in one of these helpers. A failure raises `Divergence`, whose message
starts with the rule id (e.g. "[R4]"), says which leaf and which (sample, step) positions
differ, and ends with NumPy source that rebuilds the example, so the report is enough to
replay it. Tolerances depend on the dtype (and in low precision on how the cell propagates
rounding: conformance/contract/precision.py), never on the backend (contract section 3).
"""

from dataclasses import dataclass

import numpy as np
import optree

from conformance.backends import get_backend
from conformance.contract import precision

TOLERANCES = {
    "float64": dict(rtol=1e-7, atol=1e-9),
    "float32": dict(rtol=1e-4, atol=1e-5),
}
MAX_POSITIONS_SHOWN = 6
# The order in which a comparison's differences are listed: the first names the failure.
RULE_ORDER = {"R13": 0, "R1": 0.5, "R2": 1, "R5": 2, "R7": 3, "R11": 4, "R8": 5, "R3": 6, "R4": 7, "R6": 8}


class Divergence(AssertionError):
    """A backend broke a contract rule on `example`. `rule` is an id such as "R4"."""

    def __init__(self, rule, summary, details=(), example=None, target=None):
        self.rule, self.summary, self.example, self.target = rule, summary, example, target
        self.crash = None  # "ExceptionType: first line" when the backend raised
        # The runs being compared: one for agreement with the reference, two for a
        # metamorphic relation (either may be the one that broke the contract).
        self.runs = (example,) if example is not None else ()
        # The targets whose runs were compared: the one named, and for a relation between
        # two modes (G4: compiled against eager) the other; an entry for either excuses it.
        self.targets = (target,) if target is not None else ()
        lines = [f"[{rule}] {target or ''}: {summary}".replace(" : ", ": ")]
        lines += [f"  - {d}" for d in details]
        lines.append(rule_line(rule))
        if example is not None:
            lines += ["", f"Minimal example: {example!r}"]  # its source: the harness adds it (conformance/plugin.py)
        super().__init__("\n".join(lines))


def rule_line(rule):
    """Where the broken rule is defined: CONTRACT.md has one heading per rule id."""
    return f"The rule: CONTRACT.md, rule {rule}"


def divergences_in(error):
    """The Divergence(s) inside what Hypothesis raised: one, or a group of distinct bugs."""
    if isinstance(error, Divergence):
        return [error]
    if isinstance(error, BaseExceptionGroup):
        return [d for e in error.exceptions for d in divergences_in(e)]
    return []


@dataclass(frozen=True)
class Mismatch:
    rule: str
    text: str
    # The rule an R8 under go_backwards names once the mask is shown to be read at the
    # right time (`_with_r8_checked`): R3, or R2 where a value differs before any masked step.
    if_not_r8: str = "R3"


def assert_agrees_with_reference(actual, expected, example, target):
    """Every output, state and shape equals the reference's; names the likeliest rule."""
    mismatches = compare(actual, expected, example)
    if mismatches:
        mismatches = _with_r5_checked(_with_r8_checked(mismatches, actual, example), actual, expected, example)
        raise Divergence(
            mismatches[0].rule,
            "differs from the reference",
            [f"[{m.rule}] {m.text}" for m in mismatches],
            example,
            target,
        )


def _with_r8_checked(mismatches, actual, example):
    """Positions alone cannot tell "the mask was read at the wrong time" (R8) from "a masked
    step changed a state" (R3) when go_backwards is set; the reference can. The backend
    misreads the mask if it matches the contract run with the mask reversed; otherwise,
    if its states differ, the states were not masked (R3), or, where a value differs
    before any masked step, the steps were called wrong (R2). (Outputs alone wrong with
    states right, e.g. zeros put with the unreversed mask, stay R8.)"""
    if not any(m.rule == "R8" for m in mismatches) or example.mask is None or hasattr(example, "layer"):
        return mismatches  # (a layer's contract values come from the layer reference)
    if not any(m.text.startswith("new_states") for m in mismatches):
        return mismatches
    unreversed = get_backend("reference").run(example.changed(mask=np.asarray(example.mask)[:, ::-1]), "eager")
    if not compare(actual, unreversed, example):
        return mismatches
    named = [Mismatch(m.if_not_r8, m.text) if m.rule == "R8" else m for m in mismatches]
    return _most_telling_first(named)


def _with_r5_checked(mismatches, actual, expected, example):
    """Under go_backwards, outputs that are the contract's outputs in original time order
    break R5 (keras-team/keras PR #7593), though their positions alone would name R8, R3
    or R2: the differing values sit at processed steps."""
    options = example.options
    if not (options.go_backwards and options.return_all_outputs) or hasattr(example, "layer"):
        return mismatches
    if not any(m.text.startswith("outputs") for m in mismatches):
        return mismatches
    time_axis = 0 if options.time_major else 1
    in_original_order = optree.tree_map(lambda x: np.flip(np.asarray(x), time_axis), expected.outputs)
    if _compare_part("outputs", actual.outputs, in_original_order, example, actual):
        return mismatches
    named = [Mismatch("R5", m.text) if m.text.startswith("outputs") else m for m in mismatches]
    return _most_telling_first(named)


def assert_same_results(first, second, example, target, rule, relation, layout=None, runs=None):
    """Two runs that the contract says are equivalent (a metamorphic relation) agree.

    `layout` is the example whose options describe the axes of both results (default
    `example`); it differs when one result was mapped, e.g. transposed from time-major.
    `runs` are the examples of both runs (default `example` alone): either may be the one
    that broke the rule, so a declared entry's condition is asked of each.
    """
    mismatches = compare(first, second, layout or example)
    if mismatches:
        divergence = Divergence(rule, relation, [m.text for m in mismatches], example, target)
        divergence.runs = tuple(runs) if runs else divergence.runs
        raise divergence


def compare(actual, expected, example):
    """All differences between two Results, most telling first."""
    found = []
    allowed = getattr(expected, "allowed", None)  # per value, in float16 and bfloat16 (section 3)
    for part in ("outputs", "new_states", "last_output"):
        bounds = optree.tree_leaves(getattr(allowed, part)) if allowed is not None else None
        found += _compare_part(part, getattr(actual, part), getattr(expected, part), example, actual, bounds)
    return _most_telling_first(found)


def _most_telling_first(mismatches):
    """In RULE_ORDER: the first names the failure."""
    return sorted(mismatches, key=lambda m: RULE_ORDER.get(m.rule, 99))


def _compare_part(part, actual, expected, example, actual_result, bounds=None):
    a_leaves, e_leaves = optree.tree_leaves(actual), optree.tree_leaves(expected)
    if len(a_leaves) != len(e_leaves):
        rule = "R13" if part == "new_states" else "R2"
        return [Mismatch(rule, f"{part}: {len(a_leaves)} leaves, expected {len(e_leaves)}")]
    found = []
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        name = f"{part}[{i}]" if len(e_leaves) > 1 else part
        a, e = np.asarray(a), np.asarray(e)
        if a.shape != e.shape:
            found.append(Mismatch(shape_rule(part, example, a.shape, e.shape), f"{name}: shape {a.shape}, expected {e.shape}"))
            continue
        if a.dtype != e.dtype:
            found.append(Mismatch("R13", f"{name}: dtype {a.dtype}, expected {e.dtype}"))
        close = _close(a, e, example, None if bounds is None else bounds[i])
        if not close.all():
            positions = np.argwhere(~close)
            rule, if_not_r8 = _value_rule(part, positions, example, i, actual_result)
            text = f"{name}: {len(positions)} of {a.size} values differ; " + _show(positions, a, e, part, example)
            found.append(Mismatch(rule, text, if_not_r8))
    return found


def _close(actual, expected, example, allowed=None):
    """Where `actual` is as close to `expected` as section 3 asks: the dtype's tolerance;
    in float16 and bfloat16 the largest difference `allowed` at each value (the rounding
    a correct loop can make there, conformance/contract/precision.py), or, for a layer,
    one that grows with the steps. NaN matches NaN, and inf the same inf."""
    if not precision.applies_to(example):
        return np.isclose(actual, expected, equal_nan=True, **TOLERANCES[example.dtype])
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if allowed is None:
        allowed = precision.allowed_error(example, e, example.steps)
    with np.errstate(invalid="ignore"):
        return (np.abs(a - e) <= allowed) | (a == e) | (np.isnan(a) & np.isnan(e))


def shape_rule(part, example, shape, expected_shape):
    """The rule a wrong shape of one leaf of `part` breaks."""
    if part == "new_states":
        return "R13"
    if part == "last_output":
        return "R6"
    if not example.options.return_all_outputs:
        return "R7"
    t_axis = 0 if example.options.time_major else 1
    if len(shape) == len(expected_shape) and all(
        n == m for axis, (n, m) in enumerate(zip(shape, expected_shape)) if axis != t_axis
    ):
        return "R1"  # only the number of steps differs
    return "R11" if example.options.time_major else "R5"


def _value_rule(part, positions, example, leaf, actual_result):
    """The rule most likely behind differing values, from where they sit, and the rule an
    R8 among them names if the mask turns out to be read at the right time."""
    masked = _masked_in_processing_order(example)
    if part == "new_states":
        return _unmasked_value_rule(masked, example, before_any_masked_step=False)
    if part == "last_output":
        outputs = np.asarray(optree.tree_leaves(actual_result.outputs)[leaf])
        last = np.asarray(optree.tree_leaves(actual_result.last_output)[leaf])
        last_step = outputs[-1] if example.options.time_major else outputs[:, -1]
        if last_step.shape == last.shape and not np.allclose(last_step, last, equal_nan=True):
            return "R6", "R3"  # inconsistent with its own outputs
        steps = np.full(len(positions), masked.shape[1] - 1) if masked is not None else None
        batch = positions[:, 0]
    else:
        b_axis, t_axis = (1, 0) if example.options.time_major else (0, 1)
        batch = positions[:, b_axis]
        if example.options.return_all_outputs:
            steps = positions[:, t_axis]
        else:
            width = np.shape(optree.tree_leaves(actual_result.outputs)[leaf])[-1]
            steps = _steps_of_last_output(example, positions, width)
    if masked is not None and masked[batch, steps].all():
        return "R4", "R3"
    # (a Bidirectional backward half runs in the other order: what precedes a step is not known here)
    bidirectional = getattr(getattr(example, "layer", None), "bidirectional", False)
    before = masked is not None and not bidirectional and any(not masked[b, : s + 1].any() for b, s in zip(batch, steps))
    return _unmasked_value_rule(masked, example, before)


def _steps_of_last_output(example, positions, width):
    """The processing step each position of a last output was computed at: the last one,
    except in the backward half of a `Bidirectional` output (L5, concatenated on the last
    axis), whose run ends where the forward run starts."""
    steps = np.full(len(positions), example.steps - 1)
    if getattr(getattr(example, "layer", None), "bidirectional", False):
        steps[positions[:, -1] >= width // 2] = 0
    return steps


def _unmasked_value_rule(masked, example, before_any_masked_step):
    """Values differ where steps were processed: a mask read at the wrong time (R8), a
    wrong state carried out of a masked step (R3), or the step calls themselves (R2).
    A masked step changes nothing before it, so a value that differs at a step no masked
    step of its sample precedes (in processing order) points to the calls (R2), not R3.
    Returns (rule, the rule instead of R8 where the mask is read at the right time)."""
    if masked is None or not masked.any():
        return "R2", "R2"
    unmasked_rule = "R2" if before_any_masked_step else "R3"
    return ("R8" if example.options.go_backwards else unmasked_rule), unmasked_rule


def _masked_in_processing_order(example):
    """(B, T) true where a step is masked, indexed by processing step; None without mask."""
    if example.mask is None:
        return None
    masked = ~np.asarray(example.mask, bool)
    return masked[:, ::-1] if example.options.go_backwards else masked


def _show(positions, actual, expected, part, example):
    shown = []
    for pos in positions[:MAX_POSITIONS_SHOWN]:
        shown.append(f"at {tuple(int(p) for p in pos)}: got {actual[tuple(pos)]!r}, expected {expected[tuple(pos)]!r}")
    more = "" if len(positions) <= MAX_POSITIONS_SHOWN else f" (+{len(positions) - MAX_POSITIONS_SHOWN} more)"
    if part != "outputs":
        axes = "(B, ...)"
    else:
        axes = "(T, B, ...), T in processing order" if example.options.time_major else "(B, T, ...), T in processing order"
    return f"positions {axes}: " + "; ".join(shown) + more
