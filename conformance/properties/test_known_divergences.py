"""Declared divergences are checked, not trusted: each one's minimal example must still
diverge, by the declared rule, on the declared backend and mode.

The replay decides, on the version under test (CONTRACT.md section 6): reproduced as
declared, the entry holds; agreeing with the reference, it is FIXED; diverging another
way, it is CHANGED. The last two fail the run, each with the edit to make to the entry
(recorded for `rnn-conformance known update`), so the file cannot drift into excusing
nothing or hiding a fixed bug, and a development version with no change is green.
"""

import pytest

from conformance.known.ledger import closed_at, edit_text, widened_shows_as
from conformance.replay.known_replay import replay
from conformance.backends import not_installed_message
from conformance.replay.repro import load_case

VERDICT = "known_verdict"  # the user properties the plugin reads (conformance/plugin.py): a FIXED or CHANGED
TESTED = "known_tested_version"  # verdict with its edit, and the version the case was replayed on


def test_known_divergence_still_reproduces(known_case, record_property):
    entry, target = known_case
    missing = not_installed_message(target.backend)
    if missing:
        pytest.skip(missing)
    body, example, drawn = load_case(entry.example)
    example = target.applicable(example)
    found = entry.code_version(target)
    if found is None:
        pytest.fail(f"{entry.id}: {entry.package} cannot be imported where {target} runs", pytrace=False)
    if not entry.in_range(found.version):  # another version: replayed all the same, and told
        pytest.skip(f"not applicable: {entry.id} is declared for {entry.package} {entry.versions}; "
                    f"on {found.text()} its case {replay_outcome(entry, target, body, example, drawn)}")
    record_property(TESTED, found.version)
    divergence = replay(entry, target, body, example, drawn)
    if divergence is None:
        closed = closed_at(entry.versions, found.version)
        edit = {"versions": closed} if closed else {"remove": True}
        tries = f" in {entry.attempts} attempts" if entry.attempts > 1 else ""
        record_property(VERDICT, {"outcome": "known-fixed", "version": found.version, "edit": edit})
        pytest.fail(f"FIXED: {entry.id}: its case agrees with the reference on {found.text()}{tries}; "
                    f"edit {entry.source}: {edit_text(edit)}", pytrace=False)
    if not entry.matches(divergence):
        shows_as = widened_shows_as(entry, divergence)
        edit = {"shows_as": shows_as} if shows_as and entry.holds_for_any_run(divergence) else None
        record_property(VERDICT, {"outcome": "known-changed", "version": found.version, "edit": edit})
        now = str(divergence).splitlines()[0][:200]  # ("[R2] keras-jax [eager]: CRASH: ...")
        if edit is None:
            advice = f"no run that diverged satisfies its condition {entry.condition!r}: a person decides"
        else:
            advice = f"if it is the same root cause, edit {entry.source}: {edit_text(edit)}; if not, close its range and declare the new one"
        pytest.fail(f"CHANGED: {entry.id}: its case now diverges otherwise on {found.text()}: {now}; {advice}",
                    pytrace=False)


def replay_outcome(entry, target, body, example, drawn):
    """What the entry's case does on this target: 'reproduces', 'agrees', or how it differs."""
    divergence = replay(entry, target, body, example, drawn)
    if divergence is None:
        return "agrees (no divergence)"
    if entry.matches(divergence):
        return "reproduces"
    return f"diverges otherwise: {divergence.rule}: {str(divergence).splitlines()[0][:200]}"
