"""Declared divergences are checked, not trusted: each one's minimal example must still
diverge, by the declared rule, on the declared backend and mode.

An entry that no longer reproduces (fixed upstream), or never did, fails here, so the
file cannot drift into excusing nothing or hiding a fixed bug.
"""

import pytest

from conformance.known_replay import replay
from conformance.plugin import not_installed_message
from conformance.repro import load_case


def test_known_divergence_still_reproduces(known_case):
    entry, target = known_case
    missing = not_installed_message(target.backend)
    if missing:
        pytest.skip(missing)
    body, example, drawn = load_case(entry.example)
    example = target.applicable(example)
    if not entry.applies_to(target):  # another release: replayed all the same, and told
        installed = f"{entry.package} {entry.installed_version(target)}"
        pytest.skip(f"not applicable: {entry.id} is declared for {entry.package} {entry.versions}; "
                    f"on {installed} its case {replay_outcome(entry, target, body, example, drawn)}")
    divergence = replay(entry, target, body, example, drawn)
    if divergence is None:
        tries = f" in {entry.attempts} attempts" if entry.attempts > 1 else ""
        pytest.fail(f"{entry.id}: declared divergence no longer reproduces on {target}{tries}: remove or narrow the entry",
                    pytrace=False)
    assert entry.describes(divergence), f"{entry.id}: now diverges otherwise than declared: {divergence}"
    assert entry.holds_for_any_run(divergence), f"{entry.id}: no run that diverged satisfies the condition {entry.condition!r}"


def replay_outcome(entry, target, body, example, drawn):
    """What the entry's case does on this target: 'reproduces', 'agrees', or how it differs."""
    divergence = replay(entry, target, body, example, drawn)
    if divergence is None:
        return "agrees (no divergence)"
    if entry.matches(divergence):
        return "reproduces"
    return f"diverges otherwise: {divergence.rule}: {str(divergence).splitlines()[0][:200]}"
