"""A target is one backend in one execution mode: the unit every property runs against."""

from dataclasses import dataclass

from conformance.backends import get_backend


@dataclass(frozen=True)
class Target:
    backend: object  # a conformance.backends.base.Backend
    mode: str

    @property
    def id(self):
        return f"{self.backend.name}-{self.mode}"

    def __repr__(self):
        return f"target({self.backend.name!r}, {self.mode!r})"

    def __str__(self):
        return f"{self.backend.name} [{self.mode}]"


def targets_for(backend_names):
    """Every (backend, mode) pair of the named backends, in the order given."""
    return [Target(backend, mode) for backend in map(get_backend, backend_names) for mode in backend.modes]


def target(name, mode):
    """One target by backend name and mode (used by the suite's own tests)."""
    return Target(get_backend(name), mode)
