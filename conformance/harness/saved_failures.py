"""A failing property's minimal examples, saved where the user looks (--repro-dir) and
shown under the failure: each divergence as a JSON case, a reproducer script beside it,
and its source as a report section (the comparison that raised it renders nothing)."""

from conformance.backends.base import LAYER_LEVELS
from cells.render import example_source
from conformance.replay import repro


def save(divergences, directory, report):
    """Save each divergence a property raised; returns {id(divergence): (case, reproducer)}
    and adds report sections saying where (or why not: a full --repro-dir leaves the
    failure standing, unsaved)."""
    saved = {}
    for divergence in divergences:
        if not getattr(divergence, "property", None) or divergence.target is None:
            continue
        try:
            path = repro.save_case(divergence, directory)
        except OSError as error:
            report.sections.append(("rnn-conformance", f"minimal example NOT saved to {directory}: {error.strerror or error}"))
            continue
        try:
            script = repro.save_reproducer(divergence, path)
        except Exception as error:  # noqa: BLE001 - the case is saved; say why the script is not
            script = None
            report.sections.append(("rnn-conformance", f"no reproducer script: {type(error).__name__}: {error}"))
        saved[id(divergence)] = (path, script)
        where = f"minimal example saved to {path}" + (f", reproducer {script}" if script else "")
        report.sections.append(("rnn-conformance", where))
        report.sections.append(("rnn-conformance: the minimal example as source", source_of(divergence)))
    return saved


def source_of(divergence):
    """For a layer row, a script for its Keras and mode that prints the layer's results next
    to the contract's and exits 1 while they differ; for a function row, NumPy source that
    rebuilds the cell, data and options. (Rendered here, where a failure is reported: the
    comparison that raised it renders nothing.)"""
    target, example = divergence.target, divergence.example
    if getattr(target.backend, "level", None) not in LAYER_LEVELS:
        return "NumPy source of the example:\n" + example_source(example)
    try:
        script = repro.divergence_source(example, target.backend, target.mode)
    except Exception as error:  # noqa: BLE001 - the case is saved; say why no script
        return f"no reproducer script: {type(error).__name__}: {error}"
    flavor = getattr(target.backend, "flavor", "keras3")
    return f"Reproducer ({flavor}, mode {target.mode}; exits 1 while the layer diverges):\n{script}"
