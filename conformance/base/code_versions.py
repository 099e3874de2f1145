"""Which code runs: a package's version read from the module that is imported, not from
installed metadata.

A Keras checkout on PYTHONPATH, a copy installed over a release, `keras-nightly` beside
`keras`: in each, the distribution metadata (`importlib.metadata`) names a version the
running code is not. The code itself says what it is (`keras.__version__`) and where it
lives (`keras.__file__`), so that is what the suite reports, what a declared divergence's
version range is tested against (conformance/known.py), and what `list` shows. Where the
installed metadata says something else, `CodeVersion.disagreement` says so in one line.

A package is named by its import name (`keras`, `tf_keras`); the distribution names that
install it (`keras`, `keras-nightly`, `tf-keras`) are found from the metadata's
`packages_distributions`, only to show the disagreement.
"""

import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

# A distribution name a user or an old known file may give, and the module it installs.
MODULE_OF = {"tf-keras": "tf_keras", "keras-nightly": "keras", "tf-keras-nightly": "tf_keras"}
PROBE_TIMEOUT_S = 120


def module_of(package):
    """The import name of a package named either way (`tf-keras` -> `tf_keras`)."""
    return MODULE_OF.get(package, package.replace("-", "_"))


@dataclass(frozen=True)
class CodeVersion:
    """What one imported package says of itself, and what the installed metadata says."""

    module: str
    version: str  # the module's __version__ (its metadata's where the module has none)
    path: str  # the directory the module was imported from
    metadata: tuple = ()  # ("keras 3.15.1", "keras-nightly 3.16.0.dev..."): the distributions that install it

    def text(self):
        return f"{self.module} {self.version}"

    def disagreement(self):
        """One line where the installed metadata names another version than the code (or
        several distributions claim the module), else None."""
        claimed = [m.split(" ", 1)[1] for m in self.metadata]
        if len(claimed) == 1 and _same_release(self.version, claimed[0]):
            return None
        said = ", ".join(self.metadata) if self.metadata else "no installed distribution"
        return f"{self.module}: the code that runs is {self.version} from {self.path}; installed metadata says {said}"

    def as_json(self):
        return {**asdict(self), "metadata": list(self.metadata), "disagreement": self.disagreement()}

    @classmethod
    def from_json(cls, data):
        return cls(data["module"], data["version"], data["path"], tuple(data.get("metadata", ())))


def _same_release(stated, installed):
    """The module states the installed version, maybe with a build suffix (OpenVINO's
    `2026.4.1-22982-e213a147257-releases/2026/4` for 2026.4.1)."""
    return stated == installed or (stated.startswith(installed) and not stated[len(installed)].isalnum())


@functools.cache  # (a process imports one version of a module; the ledger asks per failure)
def of_module(module_name):
    """The CodeVersion of a module, imported here if it is not yet (None: not importable)."""
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - not importable here is an answer, not an error
        return None
    metadata = tuple(_metadata_of(module_name))
    version = getattr(module, "__version__", None)
    if not isinstance(version, str):
        version = metadata[0].split(" ", 1)[1] if metadata else "unknown"
    where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
    path = os.path.realpath(os.path.dirname(where) if where.endswith(".py") else where) if where else "(built in)"
    return CodeVersion(module_name, version, path, metadata)


def keras_is_keras3():
    """Whether the importable `keras` is Keras 3 (a Theano environment's is Keras 2), told
    from its files without importing it: only Keras 3 has the multi-backend tree. None
    where no `keras` is importable."""
    spec = importlib.util.find_spec("keras")
    if spec is None or spec.origin is None:
        return None
    return (Path(spec.origin).parent / "src" / "backend" / "numpy").is_dir()


def _metadata_of(module_name):
    for distribution in sorted(set(importlib.metadata.packages_distributions().get(module_name, ()))):
        try:
            yield f"{distribution} {importlib.metadata.version(distribution)}"
        except importlib.metadata.PackageNotFoundError:
            continue


def asked_of(worker, modules):
    """The CodeVersions of `modules` as a worker process imported them (its
    ("code_versions", modules) request, conformance/backends/layer_worker/worker.py)."""
    return [CodeVersion.from_json(found) for found in worker.request("code_versions", tuple(modules))]


PROBE = """
import json, sys
from conformance.base.code_versions import of_module
found = {name: of_module(name) for name in sys.argv[1:]}
print(json.dumps({name: (cv.as_json() if cv else None) for name, cv in found.items()}))
"""


def probe(modules, python=None, env=None):
    """{module: CodeVersion or None} as another interpreter (a managed environment's, or
    this one's without importing here) sees them: `list` asks without importing every
    framework into the command. Keras is imported on its NumPy backend (the version is
    the same on every backend, and NumPy's starts fastest)."""
    env = dict(os.environ if env is None else env)
    env.setdefault("KERAS_BACKEND", "numpy")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from conformance.base.environments import source_path

    env["PYTHONPATH"] = os.pathsep.join([str(source_path()), *filter(None, [env.get("PYTHONPATH")])])
    try:
        finished = subprocess.run([str(python or sys.executable), "-c", PROBE, *modules], capture_output=True, text=True,
                                  env=env, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        answer = json.loads(finished.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, OSError, ValueError, IndexError):
        return dict.fromkeys(modules)
    return {name: (CodeVersion.from_json(found) if found else None) for name, found in answer.items()}
