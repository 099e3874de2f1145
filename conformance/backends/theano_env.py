"""Make multi-backend Keras 2.3.1 on Theano 1.0.5 importable on Python 3.11.

`prepare()` must run before the first `import theano` or `import keras`; it is
idempotent and keeps whatever the user already set. Each step and why it is needed:

- THEANO_FLAGS gains, unless the user already set them:
  - `blas.ldflags=` (empty): Theano 1.0.5 probes for a BLAS to link its C code against
    and the import fails on current systems; empty flags make it use NumPy's BLAS.
  - `mode=FAST_COMPILE`: Theano's C implementation of `scan` (the loop Keras 2's `rnn`
    uses) does not compile on Python 3.11; FAST_COMPILE runs scan in Python and
    compiles in seconds instead of minutes.
  - `base_compiledir=<temp dir>`: Theano caches compiled modules there; a private
    temporary directory keeps ~/.theano clean and avoids lock contention between
    parallel runs.
- KERAS_BACKEND=theano and KERAS_HOME=<temp dir holding keras.json with "theano">:
  Keras 2 picks its backend from these and writes ~/.keras/keras.json otherwise;
  a private KERAS_HOME leaves the user's own Keras configuration untouched.
- The "theano.tensor.blas" logger is set to ERROR: with empty `blas.ldflags` Theano
  warns on every import that it uses NumPy's BLAS, which is intended here.
- `collections.Iterable`, `Mapping`, ... aliased from `collections.abc`: Keras 2.3.1
  (e.g. `from collections import Iterable` in keras/callbacks) and parts of Theano still
  import them from `collections`, where Python 3.10 removed them.
"""

import collections
import collections.abc
import functools
import json
import logging
import os
import tempfile

ABC_ALIASES = ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable", "MutableSet", "Container")
_DEFAULT_FLAGS = (("blas.ldflags", ""), ("mode", "FAST_COMPILE"))

@functools.cache  # once per process: later calls return the same directory
def prepare():
    """Set up the environment for Keras 2 / Theano; returns the private temp directory."""
    _prepared_dir = tempfile.mkdtemp(prefix="rnn-conformance-theano-")

    flags = [f for f in os.environ.get("THEANO_FLAGS", "").split(",") if f.strip()]
    given = {f.split("=", 1)[0].strip() for f in flags}
    defaults = _DEFAULT_FLAGS + (("base_compiledir", os.path.join(_prepared_dir, "theano")),)
    flags += [f"{name}={value}" for name, value in defaults if name not in given]
    os.environ["THEANO_FLAGS"] = ",".join(flags)

    os.environ["KERAS_BACKEND"] = "theano"
    if "KERAS_HOME" not in os.environ:
        keras_home = os.path.join(_prepared_dir, "keras")
        os.makedirs(keras_home, exist_ok=True)
        with open(os.path.join(keras_home, "keras.json"), "w") as f:
            json.dump({"backend": "theano", "floatx": "float32", "epsilon": 1e-07, "image_data_format": "channels_last"}, f)
        os.environ["KERAS_HOME"] = keras_home

    logging.getLogger("theano.tensor.blas").setLevel(logging.ERROR)
    for name in ABC_ALIASES:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    return _prepared_dir
