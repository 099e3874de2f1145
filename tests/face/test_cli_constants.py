"""The command keeps copies of a few worker-side constants so that `--help` imports no
framework; these tests keep the copies equal to the originals, and check that the run's
shrink bound reaches its workers."""

import math

from conformance import cli
from conformance.base import limits
from conformance.command import run_command
from conformance.backends import impl


def test_impl_ops_agree():
    assert cli.IMPL_OPS == impl.IMPL_OPS


def test_shrink_seconds_default_agrees():
    assert cli.DEFAULT_SHRINK_SECONDS == limits.DEFAULT_SHRINK_SECONDS


def test_shrink_seconds_reach_the_workers():
    args = cli.parse_arguments(["--backends", "reference", "--shrink-seconds", "1.5"])
    options = run_command.worker_options(args)
    assert options[options.index("--shrink-seconds") + 1] == "1.5"
    assert math.isinf(cli.parse_arguments(["--shrink-seconds", "inf"]).shrink_seconds)
