"""`rnn-conformance list`: every backend the suite knows, whether it is installed, its modes."""

from conformance import environments
from conformance.backends import BACKENDS, UNSUPPORTED
from conformance.plugin import not_installed_message


def main(args=None):
    for backend in BACKENDS.values():
        missing = backend.missing_package()
        state = f"installed ({backend.version()})" if missing is None else not_installed_message(backend)
        if backend.runs_in_environment():
            state = _managed_state(backend.environment)
        default = "" if backend.run_by_default else "; not in the default run"
        print(f"{backend.name}: {state}; {backend.level} level; modes: {', '.join(backend.modes)}{default}")
    for name, why in UNSUPPORTED.items():
        print(f"{name}: unsupported: {why}")
    return 0


def _managed_state(spec):
    found = environments.existing(spec)
    if found is None:
        return f"runs in its managed environment {spec.name} (not created yet: the first run creates it under {environments.default_root()})"
    created = found.created()
    return f"runs in its managed environment {spec.name} ({found.path}, created {created['created']} with {created['installer']})"
