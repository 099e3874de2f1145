"""Managed environments: where a backend runs when it cannot run in the main one.

Keras 2.3.1 on Theano needs numpy 1.23; another Keras 3 release cannot share a
site-packages with 3.15.1. Such a backend declares an `EnvironmentSpec`, and its worker
(the command's, or the pytest delegation of conformance/properties/test_environments.py) runs in a
virtual environment the suite creates on first use and reuses afterwards:

- where: `<root>/<name>-<key>`, root `--env-dir`, else $RNN_CONFORMANCE_ENV_DIR, else
  the user's cache directory ($XDG_CACHE_HOME or ~/.cache, then rnn-conformance/envs);
  the key hashes everything that decides the contents (the requirements, this Python,
  the versions of the suite's own dependencies pinned to this process's, the base of an
  overlay), so a changed requirements file is a new environment, never a stale one;
- two kinds: a full environment (its own numpy: Theano), or an overlay, which sees the
  main environment's site-packages behind its own (`site.addsitedir` in a .pth) and
  holds only what differs (another Keras release beside the same TensorFlow, JAX, torch;
  or a link to a Keras checkout's package, so the checkout is tested as it is edited);
- how: `uv` when it is installed (it honours this machine's pip configuration: find-links,
  extra index, constraints, translated into its flags), else `venv` + pip, which read
  that configuration themselves; overlays always use pip, which sees the packages behind
  the overlay (uv would install them all again);
- safely: one creator at a time (a file lock), a marker file written last (an environment
  without it was cut short and is made again), everything the installer prints in a log;
  a creation that fails raises `EnvironmentFailure` with the step, the installer's last
  line and the log's path: its backends are then NOT INSTALLED, never passed.

The worker imports the suite from this checkout (PYTHONPATH, `source_path`), not from a
copy installed in the environment, so every environment runs the code being tested.
"""

import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import conformance

# Set by the command in each worker's environment to its own pid: a worker whose parent is
# gone ends itself (conformance/harness/parent_watch.py).
PARENT_VARIABLE = "RNN_CONFORMANCE_PARENT_PID"

READY = "rnn-conformance-ready.json"
PROGRESS_EVERY_S = 15
# The suite's own dependencies, installed in a full environment at this process's versions:
# the same Hypothesis draws the same `ci` sample in every environment.
SUITE_DEPENDENCIES = ("hypothesis", "pytest", "optree", "packaging")
REQUIREMENTS_DIR = Path(conformance.__file__).with_name("requirements")
_SYSCONFIG_LOCK = threading.Lock()  # environments are created from threads (conformance/research/history.py)
sysconfig.get_config_vars()  # read once now: its first read is not thread-safe


class EnvironmentFailure(RuntimeError):
    """The environment could not be created (the message says why and where the log is)."""


@dataclass(frozen=True)
class EnvironmentSpec:
    name: str  # "theano", "keras-3.0.0": the directory's and the messages' name
    requirements: tuple  # pip requirement lines
    overlay: bool = False  # True: sees the main environment's packages behind its own
    links: tuple = ()  # ((package name, directory), ...): linked into an overlay's site-packages, read live

    @classmethod
    def from_file(cls, name, filename):
        """A full environment from a requirements file of conformance/requirements/."""
        text = (REQUIREMENTS_DIR / filename).read_text()
        lines = tuple(line.split("#")[0].strip() for line in text.splitlines())
        return cls(name, tuple(line for line in lines if line))

    def pins(self):
        """The suite's dependencies at this process's versions (full environments only)."""
        if self.overlay:
            return ()
        return tuple(f"{name}=={importlib.metadata.version(name)}" for name in SUITE_DEPENDENCIES)

    def key(self):
        facts = {
            "python": [platform.python_implementation(), *map(str, sys.version_info[:2]), platform.machine()],
            "requirements": list(self.requirements),
            "pins": list(self.pins()),
            "overlay_of": [str(p) for p in base_site_packages()] if self.overlay else None,
            **({"links": [list(link) for link in self.links]} if self.links else {}),
        }
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]


def default_root():
    given = os.environ.get("RNN_CONFORMANCE_ENV_DIR")
    if given:
        return Path(given)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "rnn-conformance" / "envs"


def base_site_packages():
    """This environment's site-packages (what an overlay sees behind its own)."""
    paths = sysconfig.get_paths()
    return sorted({Path(paths["purelib"]), Path(paths["platlib"])})


@dataclass(frozen=True)
class Environment:
    """A created environment: its interpreter, and what a worker there needs."""

    spec: EnvironmentSpec
    path: Path

    @property
    def python(self):
        return self.path / "bin" / "python"

    def created(self):
        """What the marker says: when, how long it took, with which installer."""
        return json.loads((self.path / READY).read_text())

    def worker_env(self, base=None):
        """The process environment of a worker here: this checkout first on its path."""
        env = dict(os.environ if base is None else base)
        env["PYTHONPATH"] = os.pathsep.join([str(source_path()), *filter(None, [env.get("PYTHONPATH")])])
        env.pop("PYTHONHOME", None)
        env.pop("VIRTUAL_ENV", None)
        return env


def source_path():
    """A directory holding the suite's packages (conformance, cells) and nothing else of
    this environment: the checkout itself when they live in one (an editable install),
    else a temporary directory of links to them (they were installed into site-packages,
    whose numpy must not reach a Theano environment)."""
    root = Path(conformance.__file__).resolve().parents[1]
    if (root / "pyproject.toml").exists():
        return root
    return _links_to(root)


@functools.cache  # one directory of links per process
def _links_to(root):
    links = Path(tempfile.mkdtemp(prefix="rnn-conformance-source-"))
    for package in ("conformance", "cells"):
        (links / package).symlink_to(root / package)
    return links


def existing(spec, root=None):
    """The environment of `spec` if it was created (None: the first use creates it)."""
    root = Path(root) if root is not None else default_root()
    environment = Environment(spec, root / f"{spec.name}-{spec.key()}")
    return environment if (environment.path / READY).exists() else None


def ensure(spec, root=None, say=print):
    """The environment of `spec`, created first if it does not exist yet (progress said
    through `say`); raises EnvironmentFailure."""
    root = Path(root) if root is not None else default_root()
    environment = Environment(spec, root / f"{spec.name}-{spec.key()}")
    if (environment.path / READY).exists():
        return environment
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / f"{environment.path.name}.lock", "w")
    except OSError as error:
        raise EnvironmentFailure(f"cannot create the {spec.name} environment under {root}: {error.strerror or error}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be creating it right now
        if not (environment.path / READY).exists():
            _create(environment, root / f"{environment.path.name}.log", say)
    return environment


def _create(environment, log_path, say):
    import shutil

    if environment.path.exists():
        shutil.rmtree(environment.path)  # a creation that was cut short
    installer = "pip" if environment.spec.overlay or _uv() is None else "uv"
    say(f"[env {environment.spec.name}] creating {environment.path} with {installer} (first use; log: {log_path})")
    started = time.monotonic()
    with open(log_path, "w") as log:
        for step, command in _steps(environment, installer):
            if step == "overlay":
                _write_overlay_path(environment)
            else:
                _run_step(environment.spec.name, step, command, log, log_path, say, started)
    seconds = time.monotonic() - started
    marker = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(seconds, 1), "installer": installer,
              "requirements": list(environment.spec.requirements), "pins": list(environment.spec.pins())}
    (environment.path / READY).write_text(json.dumps(marker, indent=1))
    say(f"[env {environment.spec.name}] ready in {seconds:.0f} s")


def _steps(environment, installer):
    """(what, command) for each step of the creation."""
    spec, python = environment.spec, str(environment.python)
    wanted = [*spec.requirements, *spec.pins()]
    if spec.overlay:
        yield "venv", [sys.executable, "-m", "venv", "--without-pip", str(environment.path)]
        yield "overlay", None  # the .pth that shows the main environment behind this one
        if wanted:
            yield "install", [sys.executable, "-m", "pip", "--python", python, "install", "--no-input", *wanted]
    elif installer == "uv":
        yield "venv", [_uv(), "venv", "--python", sys.executable, str(environment.path)]
        yield "install", [_uv(), "pip", "install", "--python", python, *uv_pip_config(), *wanted]
    else:
        yield "venv", [sys.executable, "-m", "venv", str(environment.path)]
        yield "install", [python, "-m", "pip", "install", "--no-input", *wanted]


def _run_step(name, step, command, log, log_path, say, started):
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    while process.poll() is None:
        try:
            process.wait(PROGRESS_EVERY_S)
        except subprocess.TimeoutExpired:
            say(f"[env {name}] {step}: {time.monotonic() - started:.0f} s, {_last_line(log_path)}")
    if process.returncode != 0:
        raise EnvironmentFailure(f"creating the {name} environment failed at {step} (exit status {process.returncode}): "
                                 f"{_last_line(log_path)} (log: {log_path})")


def _write_overlay_path(environment):
    site = Path(sysconfig.get_paths(vars={"base": str(environment.path), "platbase": str(environment.path)})["purelib"])
    site.mkdir(parents=True, exist_ok=True)
    for name, directory in environment.spec.links:  # (before the main environment's site-packages on the path)
        (site / name).symlink_to(Path(directory).resolve(), target_is_directory=True)
    lines = [f"import site; site.addsitedir({str(p)!r})" for p in base_site_packages()]
    (site / "zz-rnn-conformance-overlay.pth").write_text("\n".join(lines) + "\n")


def _last_line(log_path):
    lines = [line.strip() for line in Path(log_path).read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(nothing printed yet)"


@functools.cache  # (once: uv.find_uv_bin reads sysconfig, whose first read is not thread-safe)
def _uv():
    try:
        import uv
    except ImportError:
        return None
    with _SYSCONFIG_LOCK:
        try:
            return uv.find_uv_bin()
        except FileNotFoundError:
            return None


# pip configuration keys and the uv flags that mean the same (uv reads no pip.conf).
_UV_FLAGS = {"find-links": "--find-links", "extra-index-url": "--extra-index-url", "index-url": "--index-url",
             "constraint": "--constraint"}


def uv_pip_config(listing=None):
    """This machine's pip configuration (files and PIP_* variables, as `pip config list`
    prints them) as uv flags, so that uv installs what pip would here (a local torch
    wheel, a constraints file). uv's own default, taking a package from the first index
    that has it, is switched to pip's: the best version over every index."""
    if listing is None:
        listing = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    flags, seen = [], set()
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        option = key.rsplit(".", 1)[-1].strip()
        if not sep or option not in _UV_FLAGS:
            continue
        for item in value.strip().strip("'\"").split():
            if (option, item) not in seen:
                seen.add((option, item))
                flags += [_UV_FLAGS[option], item]
    return flags + ["--index-strategy", "unsafe-best-match"]

