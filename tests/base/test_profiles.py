"""Profiles reach properties that were imported under other settings.

Hypothesis fixes a test's settings at decoration time, so a profile loaded later is
silently ignored; `profiles.applied` is what the mutants command and the fixtures of
these tests rely on instead.
"""

from hypothesis import Phase

from conformance.judge import run_state
from conformance.base import profiles
from conformance.properties import test_agreement
from conformance.judge.targets import target


def _examples_run(chosen):
    reference = target("reference", "eager")
    with run_state.running() as run, profiles.applied(chosen, [test_agreement.test_agrees_with_reference]):
        test_agreement.test_agrees_with_reference(target=reference)
    return run.examples_run[reference.id]


def test_applied_settings_decide_how_many_examples_run():
    explicit = len(test_agreement.test_agrees_with_reference.hypothesis_explicit_examples)
    assert _examples_run(profiles.settings_for("ci", max_examples=2)) == explicit + 2
    assert _examples_run(profiles.settings_for("ci", max_examples=9)) == explicit + 9


def test_applied_settings_are_restored():
    before = test_agreement.test_agrees_with_reference._hypothesis_internal_use_settings
    _examples_run(profiles.settings_for("ci", max_examples=1, phases=[Phase.generate]))
    assert test_agreement.test_agrees_with_reference._hypothesis_internal_use_settings is before


def test_derandomized_examples_do_not_depend_on_which_local_modules_are_loaded(tmp_path, monkeypatch):
    """Hypothesis draws constants found in local source; importing a module full of
    small integers must not change the `ci` sample (it did before profiles emptied
    that pool, as it did after any edit to a literal in this package)."""
    from hypothesis import given

    from cells.strategies import examples

    assert profiles.LOCAL_CONSTANTS_DISABLED

    def ci_sample():
        drawn = []

        @given(example=examples())
        def draw(example):
            drawn.append(repr(example))

        with profiles.applied(profiles.settings_for("ci", max_examples=60), [draw]):
            draw()
        return drawn

    before = ci_sample()
    (tmp_path / "many_constants.py").write_text("VALUES = [" + ", ".join(str(i) for i in range(2, 300)) + ", 0.5, 1e-3]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import many_constants  # noqa: F401 - a new local module with numbers in its source

    assert ci_sample() == before


def test_gradient_properties_draw_their_own_count_under_a_named_profile_and_any_explicit_count():
    """A gradient example costs several forward ones, so `ci`, `dev` and `thorough` give the
    gradient properties GRADIENT_EXAMPLES; an explicit --max-examples (its own profile) rules all."""
    from hypothesis import settings

    from conformance.base.profiles import GRADIENT_EXAMPLES, gradient_settings

    previous = settings._current_profile
    try:
        for name, count in GRADIENT_EXAMPLES.items():
            settings.load_profile(name)
            assert gradient_settings().max_examples == count
            assert gradient_settings().derandomize == settings.get_profile(name).derandomize
        settings.register_profile("explicit-count", parent=settings.get_profile("ci"), max_examples=3)
        settings.load_profile("explicit-count")
        assert gradient_settings().max_examples == 3
    finally:
        settings.load_profile(previous)
