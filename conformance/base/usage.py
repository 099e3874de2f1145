"""Bad input to `rnn-conformance`: one line on stderr and exit status 2, never a traceback.

Every subcommand reports its usage errors through `usage_error`, so they all read alike:
`rnn-conformance: error: <what is wrong> (see rnn-conformance --help)`.
"""

import sys

from cells.module_names import SUITE_PACKAGES, suite_package_clash  # noqa: F401 (this module's public face)

USAGE_EXIT_STATUS = 2

class UsageError(ValueError):
    """Reported as one line, exit status 2."""


def usage_error(message):
    """Print the message as one line (the first line of a longer one); returns 2."""
    text = " ".join(str(message).split("\n")[0].split()) or "bad input"
    print(f"rnn-conformance: error: {text}", file=sys.stderr, flush=True)
    return USAGE_EXIT_STATUS
