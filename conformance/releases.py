"""Other releases of a backend's package: `rnn-conformance --keras 3.0.0,3.8.0`.

Keras is pure Python: another Keras 3 release installs in an overlay environment
(conformance/environments.py) that holds only that Keras and whatever it needs that the
main environment lacks, and sees the main environment's TensorFlow, JAX and torch behind
it. A tf_keras release needs the TensorFlow of its own minor version, and an overlay
would mix that TensorFlow's dependencies with the main environment's (tried: tf-keras
2.16 and 2.17 then fail on JAX's ml_dtypes check, 2.14 and 2.15 on a Keras 2 that is not
theirs), so each tf-keras release gets a full environment of its own.

A row of such a run is named `<backend>@<version>` (`keras-jax@3.0.0`); its declared
divergences are those whose version range holds that release, and a divergence with the
root cause of an entry declared for other releases says so (conformance/known.py).
"""

import subprocess
import sys

from packaging.version import InvalidVersion, Version

from conformance.environments import EnvironmentSpec
from conformance.usage import UsageError

# The package an option names, the rows that test it, the oldest release they support.
PACKAGES = {
    "keras": {"option": "--keras", "distribution": "keras", "oldest": "3.0.0",
              "rows": ("keras-tensorflow", "keras-jax", "keras-torch", "keras-numpy", "keras-openvino",
                       "layer-keras-tensorflow", "layer-keras-jax", "layer-keras-torch", "layer-keras-numpy",
                       "layer-keras-openvino"),
              # Rows whose code is younger than the package: Keras' OpenVINO rnn raises
              # NotImplementedError before 3.14.0 (read in the 3.8.0-3.15.0 wheels).
              "since": {"keras-openvino": "3.14.0", "layer-keras-openvino": "3.14.0"}},
    "tf-keras": {"option": "--tf-keras", "distribution": "tf-keras", "oldest": "2.14.0", "rows": ("tf-keras", "layer-tf-keras")},
}

_available = {}


def available(distribution):
    """The releases on the package index (`pip index versions`), newest first; None when
    the index cannot be asked (the environment's creation then says why)."""
    if distribution not in _available:
        listing = subprocess.run([sys.executable, "-m", "pip", "index", "versions", distribution],
                                 capture_output=True, text=True)
        line = next((text for text in listing.stdout.splitlines() if text.startswith("Available versions:")), None)
        _available[distribution] = None if line is None else [v.strip() for v in line.split(":", 1)[1].split(",")]
    return _available[distribution]


def parse(package, text):
    """The versions of a `--keras 3.0.0,3.8.0` option, checked against the index; UsageError."""
    about, versions = PACKAGES[package], []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        try:
            version = Version(item)
        except InvalidVersion:
            raise UsageError(f"{about['option']}: {item!r} is not a version") from None
        if version < Version(about["oldest"]):
            raise UsageError(f"{about['option']}: {item} is older than {about['oldest']}, the oldest release its rows test")
        known = available(about["distribution"])
        if known is not None and item not in known:
            newest = ", ".join(v for v in known[:5])
            raise UsageError(f"{about['option']}: {about['distribution']} {item} is not on the package index (newest: {newest})")
        if item not in versions:
            versions.append(item)
    if not versions:
        raise UsageError(f"{about['option']} needs at least one version")
    return versions


def environment_of(package, version):
    """The managed environment that holds this release: an overlay for Keras, a full one
    (its own TensorFlow) for tf-keras."""
    wanted = (f"{PACKAGES[package]['distribution']}=={version}",)
    if package == "tf-keras":  # (tf-keras 2.14 and 2.15 do not require the TensorFlow they need)
        wanted += (f"tensorflow=={'.'.join(version.split('.')[:2])}.*",)
    return EnvironmentSpec(f"{package}-{version}", wanted, overlay=package == "keras")


def has_row(package, backend_name, version):
    """Whether this release has the code the row tests (see PACKAGES' "since")."""
    since = PACKAGES[package].get("since", {}).get(backend_name)
    return since is None or Version(version) >= Version(since)


def row_name(backend_name, version):
    return f"{backend_name}@{version}"
