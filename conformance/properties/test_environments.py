"""The backends of this run that live in a managed environment (conformance/base/delegation.py).

One test per environment: it passes when pytest there passes on those backends, and fails
with that run's summary otherwise, or with NOT INSTALLED and the log when the environment
cannot be created (never a pass, never a silent skip). Not collected when nothing is
delegated (every selected backend runs in this interpreter).
"""

from conformance.base import delegation


def test_backends_in_their_managed_environment(delegated_environment, request):
    spec, backends = delegated_environment
    passed, message = delegation.run(spec, backends, request.config, request.config.getoption("--repro-dir"))
    assert passed, message
