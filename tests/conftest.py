"""Shared fixtures of the suite's own tests."""

import pytest
from hypothesis import Phase, settings

pytest_plugins = ["pytester"]


@pytest.fixture
def without_shrinking():
    """Run properties under the current profile minus shrinking, then restore it.

    Tests that only need to see a property fail do not pay for a minimal example. The
    properties carry no @settings of their own, so they read the default at call time.
    """
    previous = settings.get_current_profile_name()
    settings.register_profile(
        "selftest-no-shrink", settings(settings.default, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    )
    settings.load_profile("selftest-no-shrink")
    yield
    settings.load_profile(previous)
