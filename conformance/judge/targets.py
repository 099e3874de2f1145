"""A target is one backend in one execution mode: the unit every property runs against."""

from dataclasses import dataclass

import pytest
from hypothesis import reject

from cells.dtypes import LOW_PRECISION
from cells.example import Options
from cells.layer_example import dtype_policy_of
from conformance.backends import get_backend


@dataclass(frozen=True)
class Target:
    backend: object  # a conformance.backends.base.Backend
    mode: str

    @property
    def id(self):
        return f"{self.backend.name}-{self.mode}"

    @property
    def compiles(self):
        """Whether this mode traces or compiles a function it then reuses (its examples
        also run on their siblings, cells/resample.py)."""
        return self.mode in self.backend.compiled_modes

    def applicable(self, example):
        """The example with options this backend's API lacks reset to their defaults.

        Contract section 4: a smaller API is tested on everything it can express. An
        example in a dtype the backend refuses (Backend.refused_dtypes) is not drawn for
        it: `require_low_precision` has said so, with the reason, when the run began.
        """
        if example.dtype in self.backend.refused_dtypes:
            reject()
        fitted = getattr(self.backend, "fitted", None)  # a built-in row refuses a layer its Keras lacks (issue 41)
        if fitted is not None:
            example = fitted(example, self.mode)
            if example is None:
                reject()  # a layer this Keras lacks (its row lists it: `rnn-conformance list`)
        policy = dtype_policy_of(example)
        if policy != "float32" and (policy not in self.backend.dtype_policies or policy in self.backend.refused_policies):
            reject()  # `require_dtype_policies` said why when the property began
        unsupported = self.backend.unsupported_options
        if not unsupported:
            return example
        defaults = Options()
        return example.changed(options={name: getattr(defaults, name) for name in unsupported})

    def require(self, *options):
        """Skip, as not applicable, a property about an option this backend's API lacks."""
        missing = [name for name in options if name in self.backend.unsupported_options]
        if missing:
            pytest.skip(f"not applicable: {self.backend.name}'s rnn has no {', '.join(missing)} (contract section 4)")

    def require_gradients(self):
        """Skip, as not applicable, a gradient property on a backend without autodiff
        (contract section 4: keras-numpy's gradient properties never conform)."""
        if not self.backend.differentiates:
            pytest.skip(f"not applicable: {self.backend.name} cannot differentiate (contract section 4)")

    def require_low_precision(self):
        """Skip, as not applicable, a low-precision property on a backend that refuses
        both float16 and bfloat16 (section 3), with its reasons."""
        refused = self.backend.refused_dtypes
        if all(dtype in refused for dtype in LOW_PRECISION):
            reasons = "; ".join(f"{dtype}: {refused[dtype]}" for dtype in LOW_PRECISION)
            pytest.skip(f"not applicable: {self.backend.name} takes no low-precision dtype ({reasons})")

    def require_dtype_policies(self):
        """Skip, as not applicable, a dtype-policy property on a row whose API has no
        policy, or that refuses every one, with its reasons (issue 40)."""
        backend = self.backend
        if not backend.dtype_policies:
            pytest.skip(f"not applicable: {backend.name} has no dtype policy ({backend.policies_note})")
        if all(p in backend.refused_policies for p in backend.dtype_policies):
            reasons = "; ".join(f"{p}: {backend.refused_policies[p]}" for p in backend.dtype_policies)
            pytest.skip(f"not applicable: {backend.name} refuses every dtype policy ({reasons})")

    def __repr__(self):
        return f"target({self.backend.name!r}, {self.mode!r})"

    def __str__(self):
        return f"{self.backend.name} [{self.mode}]"


def targets_for(backend_names, level=None):
    """Every (backend, mode) pair of the named backends, in the order given; only those
    of one level ("function" or "layer") when `level` is given."""
    backends = [b for b in map(get_backend, backend_names) if level is None or b.level == level]
    return [Target(backend, mode) for backend in backends for mode in backend.modes]


def target(name, mode):
    """One target by backend name and mode (used by the suite's own tests)."""
    return Target(get_backend(name), mode)
