"""Other versions of a backend's package: `rnn-conformance --keras 3.0.0,3.8.0`, and the
Keras that is coming: `--keras nightly` (the newest `keras-nightly` on the package index),
`--keras 3.16.0.dev2026102704` (a pinned nightly), `--keras PATH` (a source checkout, read
live, or a wheel).

Keras is pure Python: another Keras 3 release installs in an overlay environment
(conformance/base/environments.py) that holds only that Keras and whatever it needs that the
main environment lacks, and sees the main environment's TensorFlow, JAX and torch behind
it. A tf_keras release needs the TensorFlow of its own minor version, and an overlay
would mix that TensorFlow's dependencies with the main environment's (tried: tf-keras
2.16 and 2.17 then fail on JAX's ml_dtypes check, 2.14 and 2.15 on a Keras 2 that is not
theirs), so each tf-keras release gets a full environment of its own.

A nightly is a release of its own distribution, `keras-nightly`, installed in an overlay
the same way. A checkout is linked into an overlay (its `keras` package, so an edit is
tested without a new environment); a wheel is installed there, pinned by its hash.

A row of such a run is named `<backend>@<label>`: `keras-jax@3.0.0`,
`keras-jax@nightly-3.16.0.dev2026102704`, `keras-jax@checkout-3.16.0.dev0`,
`keras-jax@wheel-3.16.0.dev0` (a checkout's and a wheel's version is what their code
states). Its declared divergences are those whose version range holds the version its
code states (conformance/known.py, CONTRACT.md section 6).
"""

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from conformance.base.environments import EnvironmentSpec
from conformance.base.usage import UsageError

# The package an option names, the rows that test it, the oldest release they support.
PACKAGES = {
    "keras": {"option": "--keras", "distribution": "keras", "nightly": "keras-nightly", "module": "keras", "oldest": "3.0.0",
              # Backends that the Keras after 3.15 imports from distributions of their own
              # (keras-nightly 3.16.0.dev2026102704: KERAS_BACKEND=openvino needs keras-openvino).
              "plugins": ("keras-openvino",),
              "rows": ("keras-tensorflow", "keras-jax", "keras-torch", "keras-numpy", "keras-openvino",
                       "layer-keras-tensorflow", "layer-keras-jax", "layer-keras-torch", "layer-keras-numpy",
                       "layer-keras-openvino"),
              # Rows whose code is younger than the package: Keras' OpenVINO rnn raises
              # NotImplementedError before 3.14.0 (read in the 3.8.0-3.15.0 wheels).
              "since": {"keras-openvino": "3.14.0", "layer-keras-openvino": "3.14.0"}},
    "tf-keras": {"option": "--tf-keras", "distribution": "tf-keras", "module": "tf_keras", "oldest": "2.14.0",
                 "rows": ("tf-keras", "layer-tf-keras")},
}

_available = {}


@dataclass(frozen=True)
class Release:
    """One version a run tests: `kind` is "release", "nightly", "checkout" or "wheel";
    `source` the checkout's directory or the wheel's file."""

    package: str
    version: str
    kind: str = "release"
    source: str = None

    @property
    def label(self):
        return self.version if self.kind == "release" else f"{self.kind}-{self.version}"

    def environment(self):
        """Its overlay: a release alone; a nightly, a wheel or a checkout with the newest
        pluggable backends beside it (an older Keras ignores them)."""
        about = PACKAGES[self.package]
        if self.kind == "release":
            return environment_of(self.package, self.version)
        plugins = tuple(f"{p}=={available(p)[0]}" if available(p) else p for p in about.get("plugins", ()))
        if self.kind == "nightly":
            return EnvironmentSpec(f"{about['nightly']}-{self.version}", (f"{about['nightly']}=={self.version}", *plugins),
                                   overlay=True)
        if self.kind == "wheel":
            name = parse_wheel_filename(Path(self.source).name)[0]
            digest = hashlib.sha256(Path(self.source).read_bytes()).hexdigest()
            return EnvironmentSpec(f"{self.package}-wheel-{self.version}",
                                   (f"{name} @ {Path(self.source).as_uri()}#sha256={digest}", *plugins), overlay=True)
        return EnvironmentSpec(f"{self.package}-checkout", plugins, overlay=True, links=((about["module"], self.source),))


def available(distribution):
    """The releases on the package index (`pip index versions`, pre-releases included for
    a nightly distribution), newest first; None when the index cannot be asked (the
    environment's creation then says why)."""
    if distribution not in _available:
        pre = ["--pre"] if distribution.endswith("-nightly") else []
        listing = subprocess.run([sys.executable, "-m", "pip", "index", "versions", distribution, *pre],
                                 capture_output=True, text=True)
        line = next((text for text in listing.stdout.splitlines() if text.startswith("Available versions:")), None)
        _available[distribution] = None if line is None else [v.strip() for v in line.split(":", 1)[1].split(",")]
    return _available[distribution]


def parse(package, text):
    """The Releases of a `--keras 3.0.0,nightly,PATH` option, each checked (against the
    package index, or on disk); UsageError."""
    about, found = PACKAGES[package], []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        release = _one(package, about, item)
        if release not in found:
            found.append(release)
    if not found:
        raise UsageError(f"{about['option']} needs at least one version")
    return found


def _one(package, about, item):
    if item == "nightly" or _looks_like_a_path(item):
        if "nightly" not in about:
            raise UsageError(f"{about['option']}: {item!r}: only released versions are tested for {package} "
                             "(nightly builds, checkouts and wheels: --keras)")
        return _newest_nightly(about) if item == "nightly" else _from_path(package, about, item)
    try:
        version = Version(item)
    except InvalidVersion:
        raise UsageError(f"{about['option']}: {item!r} is not a version, 'nightly' or the path of a checkout or a wheel") from None
    if version < Version(about["oldest"]):
        raise UsageError(f"{about['option']}: {item} is older than {about['oldest']}, the oldest release its rows test")
    distribution = about.get("nightly") if version.is_prerelease and "nightly" in about else about["distribution"]
    known = available(distribution)
    if known is not None and item not in known:
        raise UsageError(f"{about['option']}: {distribution} {item} is not on the package index (newest: {', '.join(known[:5])})")
    return Release(package, item, "nightly" if distribution != about["distribution"] else "release")


def _newest_nightly(about):
    known = available(about["nightly"])
    if not known:
        raise UsageError(f"{about['option']} nightly: the package index lists no {about['nightly']} (is it reachable?)")
    return Release("keras", max(known, key=Version), "nightly")


def _looks_like_a_path(item):
    return os.sep in item or item.endswith(".whl") or item.startswith(".") or Path(item).exists()


def _from_path(package, about, item):
    """A wheel file or a checkout directory (holding the `keras` package): its version is
    what its code states (a wheel's file name, which its build wrote from that code)."""
    path = Path(item).expanduser().resolve()
    if path.is_file() and path.suffix == ".whl":
        try:
            name, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename as error:
            raise UsageError(f"{about['option']} {item}: not a wheel's file name: {error}") from None
        if name not in (about["distribution"], about.get("nightly")):
            raise UsageError(f"{about['option']} {item}: a wheel of {name}, not of {about['distribution']}")
        return Release(package, str(version), "wheel", str(path))
    if not (path / about["module"] / "__init__.py").is_file():
        raise UsageError(f"{about['option']} {item}: neither a wheel nor a checkout (no {about['module']}/__init__.py in it)")
    from conformance.base.code_versions import probe

    found = probe([about["module"]], env={**os.environ, "PYTHONPATH": str(path)}).get(about["module"])
    if found is None or Path(found.path) != (path / about["module"]).resolve():
        raise UsageError(f"{about['option']} {item}: its {about['module']} package cannot be imported from there")
    return Release(package, found.version, "checkout", str(path / about["module"]))


def environment_of(package, version):
    """The managed environment that holds this release: an overlay for Keras, a full one
    (its own TensorFlow) for tf-keras."""
    wanted = (f"{PACKAGES[package]['distribution']}=={version}",)
    if package == "tf-keras":  # (tf-keras 2.14 and 2.15 do not require the TensorFlow they need)
        wanted += (f"tensorflow=={'.'.join(version.split('.')[:2])}.*",)
    return EnvironmentSpec(f"{package}-{version}", wanted, overlay=package == "keras")


def has_row(package, backend_name, version):
    """Whether this release has the code the row tests (see PACKAGES' "since"; a
    development version of a later release has it)."""
    since = PACKAGES[package].get("since", {}).get(backend_name)
    try:
        return since is None or Version(Version(version).base_version) >= Version(since)
    except InvalidVersion:
        return True


def row_name(backend_name, release):
    """`keras-jax@3.0.0`, `keras-jax@nightly-3.16.0.dev2026102704` (a Release or a version)."""
    return f"{backend_name}@{getattr(release, 'label', release)}"
