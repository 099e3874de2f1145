"""Every backend the suite knows, by the name a user types.

Adding a backend is adding one adapter class and listing it here. Names that cannot be
run on any supported Python are kept in `UNSUPPORTED` so that asking for them gives the
reason instead of "unknown backend".
"""

from conformance.backends.builtin_layers import builtin_layer_backends
from conformance.backends.impl import ImplBackend
from conformance.backends.keras2_theano import Keras2Theano
from conformance.backends.keras_jax import KerasJax
from conformance.backends.keras_legacy import KerasLegacyTensorFlow
from conformance.backends.keras_numpy import KerasNumpy
from conformance.backends.keras_openvino import KerasOpenVINO
from conformance.backends.keras_tensorflow import KerasTensorFlow
from conformance.backends.keras_torch import KerasTorch
from conformance.backends.layers import layer_backends
from conformance.backends.reference import reference_backend
from conformance.backends.tensorflow_adapter import FixedTensorFlow, TensorFlow2018
from conformance.backends.tf_keras import TfKeras

BACKENDS = {
    backend.name: backend
    for backend in (
        reference_backend(),
        FixedTensorFlow(),
        KerasTensorFlow(),
        KerasJax(),
        KerasTorch(),
        KerasNumpy(),
        KerasOpenVINO(),
        TfKeras(),
        KerasLegacyTensorFlow(),
        Keras2Theano(),
        TensorFlow2018(),
        *layer_backends(),
        *builtin_layer_backends(),
    )
}

UNSUPPORTED = {
    "keras2-cntk": "CNTK has no build for any supported Python (3.11); it cannot be installed",
}


class UnknownBackend(ValueError):
    """A backend name that is not in BACKENDS (a usage error, reported in one line)."""


def get_backend(name):
    if name in UNSUPPORTED:
        raise UnknownBackend(f"backend {name!r} is unsupported: {UNSUPPORTED[name]}")
    try:
        return BACKENDS[name]
    except KeyError:
        raise UnknownBackend(f"unknown backend {name!r}; valid names: {', '.join(BACKENDS)}") from None


def register_impl(impl_target, ops="numpy", load=True):
    """Make a third-party `rnn` (MODULE:FUNC) a backend; raises ImplError when unusable.

    `load=False` imports nothing (the command, which runs no test itself, names the
    backend without running the user's module-level code); the import then happens on
    first use, in the process that tests it."""
    backend = ImplBackend(impl_target, ops)
    if load:
        backend.load()
    BACKENDS[backend.name] = backend
    return backend


# Backends whose findings are not all declared in known_divergences.toml yet: a default
# run would fail on them until they are, so they run only when named. A new backend starts
# here and leaves once its divergences are declared (see README, "What runs").
AWAITING_TRIAGE = set()


def default_backends():
    """The backends a plain run covers: all but known-bad ones and those awaiting triage."""
    return [b for b in BACKENDS.values() if b.run_by_default and b.name not in AWAITING_TRIAGE]


def not_installed_message(backend):
    """The line a run, `list` and the replay of a declared entry say for a backend whose
    package is missing (None when it is installed)."""
    missing = backend.missing_package()
    if missing is None:
        return None
    if backend.install_note:
        hint = f" ({backend.install_note})"
    else:
        hint = f" (pip install 'rnn-conformance[{backend.extra}]')" if backend.extra else ""
    return f"NOT INSTALLED: backend {backend.name} needs the Python package {missing!r}{hint}"
