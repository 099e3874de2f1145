"""Shared fixtures of the suite's own tests."""

import pytest
from hypothesis import Phase, settings

from conformance.base import profiles
from conformance.properties import ALL_PROPERTIES

pytest_plugins = ["pytester"]


NO_SHRINKING = [Phase.explicit, Phase.reuse, Phase.generate]


@pytest.fixture
def without_shrinking():
    """Run every property under the current profile minus shrinking, then restore it.

    Tests that only need to see a property fail do not pay for a minimal example.
    (Hypothesis fixed each property's settings at import, so they are swapped here.)
    """
    with profiles.applied(settings(settings.default, phases=NO_SHRINKING), ALL_PROPERTIES):
        yield


@pytest.fixture
def ci_profile_without_shrinking():
    """The `ci` examples, derandomized as in CI, without shrinking."""
    with profiles.applied(profiles.settings_for("ci", phases=NO_SHRINKING), ALL_PROPERTIES):
        yield
