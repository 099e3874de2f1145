"""`python -m benchmarks.bench`: how fast the suite is, and whether it meets its speed targets.

    python -m benchmarks.bench [--parts growth,overhead,failure,fail-fast,mutants,precision,default-run,wall] [--json PATH]
                               [--quick] [--backends a,b]

Prints one table per part and writes JSON (default bench-results.json) with the machine
it ran on, since timings mean nothing without it. Parts: growth (cost vs T and B),
overhead (harness vs bare call), failure (finding and shrinking the 2018 bug), fail-fast
(the whole `rnn-conformance --backends tensorflow-2018 --fail-fast` to its verdict), mutants
(mutation analysis cost), precision (the
low-precision tolerance's measurement, CONTRACT.md section 3: only when named), default-run (the default run against its 10-minute target,
minutes: only when named), wall (whole runs, about an hour: only when named). `--quick`
shrinks every size for a smoke run. A backend that is not installed is reported as such,
never measured. Exit status 2 for an unknown part or backend name.
"""

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time

PARTS = ("growth", "overhead", "failure", "fail-fast", "mutants", "precision", "default-run", "wall")
DEFAULT_PARTS = ("growth", "overhead", "failure", "fail-fast", "mutants")
PACKAGES = ("numpy", "hypothesis", "tensorflow", "jax", "torch", "keras", "tf_keras", "theano")


def part_functions(part):
    """(run, table) of a part; imported on demand so `wall` needs none of the frameworks."""
    if part in ("failure", "mutants"):
        failure = importlib.import_module("benchmarks.failure")
        return (failure.run_failure, failure.failure_table) if part == "failure" else (failure.run_mutants, failure.mutants_table)
    module = importlib.import_module(f"benchmarks.{part.replace('-', '_')}")
    return module.run, module.table


def package_version(module):
    """The installed version of the distribution providing `module` (e.g. tensorflow-cpu), or None."""
    distributions = importlib.metadata.packages_distributions().get(module) or [module]
    for distribution in distributions:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def machine():
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in PACKAGES},
    }


class UsageError(ValueError):
    """A wrong part or backend name: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse(argv):
    parser = _Parser(prog="python -m benchmarks.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default=",".join(DEFAULT_PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--json", default="bench-results.json", metavar="PATH", help="where the results go")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (wall is skipped)")
    parser.add_argument("--backends", metavar="a,b", help="only these backends (default: every installed one)")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown or not args.parts:
        raise UsageError(f"unknown part {', '.join(unknown) or '(none named)'}; valid: {', '.join(PARTS)}")
    if args.backends is not None:
        from conformance.backends import BACKENDS

        args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = [b for b in args.backends if b not in BACKENDS]
        if unknown or not args.backends:
            raise UsageError(f"unknown backend {', '.join(unknown) or '(none named)'}; valid: {', '.join(BACKENDS)}")
    return args


def write(results, path):
    with open(path, "w") as out:
        json.dump(results, out, indent=2, default=str)


def main(argv=None):
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    results = {"schema": "rnn-conformance-bench", "machine": machine(), "quick": args.quick,
               "backends": args.backends, "parts": {}}
    m = results["machine"]
    print(f"machine: {m['cpu_count']} CPUs, {m['platform']}, Python {m['python']}", flush=True)
    for part in args.parts:
        if part in ("wall", "default-run") and args.quick:
            print(f"\n{part}: skipped under --quick (whole runs)", flush=True)
            continue
        run, table = part_functions(part)
        started = time.perf_counter()
        result = run(args.backends, args.quick)
        result["part_seconds"] = time.perf_counter() - started
        results["parts"][part] = result
        print(f"\n{table(result)}\n  ({result['part_seconds']:.1f} s)", flush=True)
        write(results, args.json)  # after every part: a long run that dies keeps what it measured
    write(results, args.json)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
