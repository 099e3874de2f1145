"""rnn-conformance: a property-based conformance suite for recurrent loops.

The public face is small: `rnn-conformance` (conformance/cli.py, also `python -m
conformance`), the pytest plugin (`-p conformance.plugin`), and `python -m
conformance.repro CASE`. Everything else lives in wings, each one role, every import
pointing down (tests/face/test_layering.py holds the order).
"""

from conformance import moved

moved.install()
