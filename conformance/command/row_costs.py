"""What each row of the default run cost, measured: the order the run starts its workers in.

With `--jobs 2` the run ends when its last worker does, so the longest rows start first
(longest processing time first: a long row started last runs alone at the end). The
figures are each row's property seconds in the default run of 2026-12-07 (`CI=true python
-m benchmarks.bench --parts default-run`, this 2-core machine; docs/measurements.md; the
built-in rows' from the later run that drew each example's path), plus
what a row's worker process and its Keras worker take to start (about 10 s, the same for
every row, so left out). A row not listed (an --impl loop, a managed environment's row
under another name, a new row) keeps the older rule behind them: the most compiled modes
first. Measured, never taken from this run's own clock.
"""

MEASURED_SECONDS = {
    "layer-keras-jax": 158, "fixed-tensorflow": 157, "keras-jax": 101, "keras-legacy-tensorflow": 70,
    "layer-tf-keras": 66, "keras-tensorflow": 54, "builtin-keras-jax": 50, "keras-openvino": 39,
    "layer-keras-tensorflow": 35, "layer-keras-openvino": 30, "layer-keras2-theano": 26, "tf-keras": 25,
    "builtin-keras-openvino": 21, "builtin-tf-keras": 21, "layer-keras-torch": 13, "builtin-keras2-theano": 13,
    "builtin-keras-tensorflow": 12, "builtin-keras-torch": 10, "keras2-theano": 8, "keras-torch": 7,
    "layer-keras-numpy": 5, "builtin-keras-numpy": 4, "keras-numpy": 4, "reference": 1,
}


def start_order_key(backend):
    """Sort key: measured rows by their cost, longest first, then the others by the most
    compiled modes (each traces per structure), then the most modes."""
    measured = MEASURED_SECONDS.get(backend.name)
    return (measured is None, -(measured or 0), -len(backend.compiled_modes), -len(backend.modes))
