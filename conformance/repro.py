"""`python -m conformance.repro CASE`: replay a saved case (conformance/replay/repro.py).

Imported, this name is that module itself, as it was before the wings (issue 38).
"""

import sys

from conformance.replay import repro

if __name__ == "__main__":
    sys.exit(repro.main())
else:
    sys.modules[__name__] = repro
