"""Bad input to `rnn-conformance`: one line on stderr and exit status 2, never a traceback.

Every subcommand reports its usage errors through `usage_error`, so they all read alike:
`rnn-conformance: error: <what is wrong> (see rnn-conformance --help)`.
"""

import sys

USAGE_EXIT_STATUS = 2

# The top-level packages rnn-conformance installs (pyproject.toml, [tool.setuptools.packages.find];
# tests/test_user_module_names.py checks that they agree). A user's module of one of these
# names is never imported: `cells` is in sys.modules before the user's ./cells.py is looked for.
SUITE_PACKAGES = ("cells", "conformance")


class UsageError(ValueError):
    """Reported as one line, exit status 2."""


def usage_error(message):
    """Print the message as one line (the first line of a longer one); returns 2."""
    text = " ".join(str(message).split("\n")[0].split()) or "bad input"
    print(f"rnn-conformance: error: {text}", file=sys.stderr, flush=True)
    return USAGE_EXIT_STATUS


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
