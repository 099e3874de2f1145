"""The module names a user's cell (or --impl loop) may and may not have.

Plain string rules, kept at the bottom of the house so that `cells.user_cell` can refuse a
bad --cell target without importing anything above it (the command's usage errors,
conformance/base/usage.py, and the declared cells, conformance/known/known_cells, re-export
these names).
"""

# The top-level packages rnn-conformance installs (pyproject.toml, [tool.setuptools.packages.find];
# tests/base/test_user_module_names.py checks that they agree). A user's module of one of these
# names is never imported: `cells` is in sys.modules before the user's ./cells.py is looked for.
SUITE_PACKAGES = ("cells", "conformance")

# The declared cells (conformance/known/known_cells): the only ones a saved case may name.
KNOWN_CELL_MODULES = ("conformance.known.known_cells.keras3", "conformance.known.known_cells.tf_keras")


def is_known_cell(target):
    """Whether "module:Class" names a class of these modules (the only cells a declared
    entry's case, or a reproducer printed without --cell, may import)."""
    return target.split(":")[0] in KNOWN_CELL_MODULES


def suite_package_clash(option, target, module_name):
    """The one-line refusal when the user's `module_name` (of `option target`, e.g. --cell
    cells:MyCell) would be imported as one of the suite's own packages, else None.

    Refused rather than loaded from its path under another name: a saved case and its
    reproducer import the module by name again later."""
    top = module_name.split(".")[0]
    if top not in SUITE_PACKAGES:
        return None
    _, _, name = target.partition(":")
    yours = f"./{top}.py" if top == module_name else f"./{top}/ package"
    rename = f"your module (say my{top}.py)" if top == module_name else f"your package (say my{top}/)"
    return (f"{option} {target}: {top!r} is the name of one of rnn-conformance's own packages "
            f"({', '.join(SUITE_PACKAGES)}), so Python would import the suite's package instead of your {yours}; "
            f"rename {rename} or put it in a package of your own (mypackage.{module_name}:{name})")
