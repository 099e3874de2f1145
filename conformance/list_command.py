"""`rnn-conformance list`: every backend the suite knows, whether it is installed, its modes."""

from conformance.backends import BACKENDS, UNSUPPORTED
from conformance.plugin import not_installed_message


def main(args=None):
    for backend in BACKENDS.values():
        missing = backend.missing_package()
        state = f"installed ({backend.version()})" if missing is None else not_installed_message(backend)
        default = "" if backend.run_by_default else "; not in the default run"
        print(f"{backend.name}: {state}; {backend.level} level; modes: {', '.join(backend.modes)}{default}")
    for name, why in UNSUPPORTED.items():
        print(f"{name}: unsupported: {why}")
    return 0
