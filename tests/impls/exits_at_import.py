"""An --impl module that ends the process at import, the way IMPORT_ENDS says (set in the
environment): `sys.exit` (the default), `os._exit` or `KeyboardInterrupt`. A command that
imported it itself would end with status 0 and no output."""

import os
import sys

how = os.environ.get("IMPORT_ENDS", "sys.exit")
if how == "os._exit":
    os._exit(0)
if how == "KeyboardInterrupt":
    raise KeyboardInterrupt
sys.exit(0)


def rnn(*args, **kwargs):  # never reached
    raise AssertionError("unreachable")
