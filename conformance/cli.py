"""`rnn-conformance`: run the conformance properties on the chosen backends.

This is a thin front over pytest (the suite is a pytest suite): it selects the property
modules shipped in the `conformance` package, passes the options through, and turns
pytest's exit codes into the command's own (0 conforms, 1 divergence, 2 usage error,
3 nothing tested).
"""

import argparse
import sys

import pytest

from conformance.backends import UNSUPPORTED, UnknownBackend, get_backend

PROPERTY_MODULES = "conformance"
EXIT_CODES = {
    pytest.ExitCode.OK: 0,
    pytest.ExitCode.TESTS_FAILED: 1,
    pytest.ExitCode.INTERRUPTED: 1,
    pytest.ExitCode.INTERNAL_ERROR: 1,
    pytest.ExitCode.USAGE_ERROR: 2,
    pytest.ExitCode.NO_TESTS_COLLECTED: 3,
}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="rnn-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", help="comma-separated backend names (default: every default backend)")
    parser.add_argument("--profile", choices=("ci", "dev", "thorough"), default="ci", help="Hypothesis profile (default: ci)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (pytest-xdist); default 1")
    return parser.parse_args(argv)


def main(argv=None):
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # argparse already printed a one-line usage error
        return 0 if exit_.code == 0 else 2
    pytest_args = ["--pyargs", PROPERTY_MODULES, "-p", "conformance.plugin", "-p", "no:cacheprovider", "-q"]
    pytest_args += ["--hypothesis-profile", args.profile]
    if args.backends:
        try:
            for name in args.backends.split(","):
                get_backend(name.strip())
        except UnknownBackend as error:
            print(f"rnn-conformance: error: {error}", file=sys.stderr)
            return 2
        pytest_args += ["--backends", args.backends]
    if args.jobs > 1:
        pytest_args += ["-n", str(args.jobs)]
    if UNSUPPORTED:
        print("unsupported backends: " + "; ".join(f"{n}: {why}" for n, why in UNSUPPORTED.items()))
    return EXIT_CODES.get(pytest.main(pytest_args), 1)


if __name__ == "__main__":
    sys.exit(main())
