"""`python -m conformance` is `rnn-conformance`."""

import sys

from conformance.cli import main

sys.exit(main())
