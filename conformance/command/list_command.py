"""`rnn-conformance list`: every backend the suite knows, whether it is installed, its modes,
and the code each would test: every package's version and place as the imported module
states them (conformance/base/code_versions.py), and where installed metadata says otherwise."""

from conformance.base import environments
from conformance.backends import AWAITING_TRIAGE, BACKENDS, UNSUPPORTED
from conformance.base.code_versions import probe
from conformance.backends import not_installed_message


def main(args=None):
    installed = [b for b in BACKENDS.values() if b.missing_package() is None]
    code = probe(sorted({module for b in installed for module in b.packages}))  # one process, imports nothing here
    print("code under test (as the imported modules state it):")
    for found in (f for f in code.values() if f is not None):
        print(f"  {found.module} {found.version} from {found.path}")
    for found in (f for f in code.values() if f is not None and f.disagreement()):
        print(f"  NOTE {found.disagreement()}")
    for backend in BACKENDS.values():
        if backend.runs_in_environment():
            state = _managed_state(backend)
        elif backend in installed:
            versions = [code[m].text() for m in backend.packages if code.get(m) is not None]
            state = f"installed ({', '.join(versions) or 'n/a'})"
        else:
            state = not_installed_message(backend)
        default = "" if backend.run_by_default else "; " + getattr(backend, "default_run_note", "not in the default run")
        if backend.name in AWAITING_TRIAGE:
            default = "; not in the default run until its divergences are declared (run it by name)"
        print(f"{backend.name}: {state}; {backend.level} level; modes: {', '.join(backend.modes)}{default}{backend.refusals()}")
    for name, why in UNSUPPORTED.items():
        print(f"{name}: unsupported: {why}")
    return 0


def _managed_state(backend):
    spec = backend.environment
    found = environments.existing(spec)
    if found is None:
        return f"runs in its managed environment {spec.name} (not created yet: the first run creates it under {environments.default_root()})"
    created = found.created()
    code = probe(list(backend.packages), python=found.python, env=found.worker_env())
    versions = ", ".join(c.text() for c in code.values() if c is not None) or "its packages cannot be imported there"
    return f"runs in its managed environment {spec.name} ({versions}; {found.path}, created {created['created']} with {created['installer']})"
