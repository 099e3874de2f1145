"""`rnn-conformance`: does my loop conform, and if not, where exactly?

    rnn-conformance [run] [--backends a,b] [--impl MODULE:FUNC [--impl-ops OPS]]
                    [--cell MODULE:CLASS [--cell-args JSON] [--input-shape N[,N]]
                     [--cell-framework keras3|tf-keras] [--constant-shape N[,N]]...]
                    [--profile ci|dev|thorough] [--max-examples N] [--seed N] [--jobs N]
                    [--report PATH.json] [--markdown PATH.md] [--repro-dir DIR]
                    [--ignore-known | --known-divergences FILE] [--example-timeout SECONDS]
                    [--backend-timeout SECONDS] [--keras V[,V]] [--tf-keras V[,V]]
                    [--env-dir DIR] [--fail-fast]
    rnn-conformance list
    rnn-conformance mutants [--mutants a,b] [--profile P] [--max-examples N]
                            [--example-timeout SECONDS] [--report PATH.json] [--markdown PATH.md]
    rnn-conformance merge A.json B.json ... [--report PATH.json] [--markdown PATH.md]
    rnn-conformance soak [--backends a,b | --impl MODULE:FUNC] [--seeds N] [--first-seed N]
                         [--profile dev|thorough] [--max-examples N] [--report PATH.json]
                         [--markdown PATH.md] [--repro-dir DIR] [...]
    rnn-conformance known update --report PATH.json [--dry-run]
    rnn-conformance gpu [--max-examples N] [--report PATH.json] [--markdown PATH.md] [...]

This module only parses the command line and dispatches: each subcommand is a module of
its own (conformance/command/run_command.py, list_command.py, mutants_command.py, merge_command.py,
soak_command.py, known_update.py, gpu_command.py), which says
what it does and what its exit statuses mean. Bad input is one line on stderr and exit
status 2 (conformance/base/usage.py), for every subcommand.
"""

import argparse
import os
import sys

from conformance.base.usage import usage_error

PROG = "rnn-conformance"
DEFAULT_SHRINK_SECONDS = 5  # conformance.base.limits.DEFAULT_SHRINK_SECONDS (tests check they agree)
COMMANDS = ("run", "list", "mutants", "merge", "soak", "known", "gpu")
SOAK_PROFILES = ("dev", "thorough")  # random profiles: `ci` is derandomized, a seed changes nothing
PROFILES = ("ci", "dev", "thorough")
IMPL_OPS = ("numpy", "tensorflow", "jax", "torch")  # conformance.backends.impl.IMPL_OPS (tests check they agree)
PROFILE_HELP = "Hypothesis profile (default: ci when the environment variable CI is set, else dev)"
RULES = "The rules every property checks, and what a divergence means: CONTRACT.md (R1-R14, L1-L8, G1-G4)."

RUN_DESCRIPTION = """\
Test each backend (and --impl, your own rnn) in a pytest worker process of its own,
print progress per backend, then the divergence matrix, the new divergences and the
verdict. rnn-conformance without a command is rnn-conformance run. Other commands:
  rnn-conformance list      every backend: installed or not, version, modes
  rnn-conformance mutants   the mutation score of the suite (rnn-conformance mutants --help)
  rnn-conformance merge     join the JSON reports of several runs into one report and matrix
  rnn-conformance soak      many random seeds, the undeclared failures grouped by root cause
  rnn-conformance known     maintain the known-divergence file: `known update --report R.json`
  rnn-conformance gpu       the built-in rows on a GPU (cuDNN paths); on a CPU machine, one line"""

SOAK_DESCRIPTION = """\
Run the backends once per seed (seeds FIRST..FIRST+N-1, a random profile, no example
database), then group every failure no declared divergence excuses by suspected root
cause (backend, rule or crash text), each with its smallest example, its reproducer, the
seeds that hit it, and the tightest condition over the facts (conformance/known/facts.py) that
covers its members and no example seen to pass. It proposes; a person declares."""

SOAK_EPILOG = f"""\
exit status: 0 no undeclared failure on any seed; 1 a group of undeclared failures, a
declared divergence that did not reproduce, or a worker without a usable report; 2 bad
input (one line on stderr); 3 a selected backend is not installed; 130/143 interrupted
(the seeds that finished are triaged and written).

{RULES}"""

RUN_EPILOG = f"""\
exit status: 0 every backend tested conforms (declared divergences reproduced as declared);
1 a new divergence, crash, hang, fixed declared divergence, or a backend whose worker gave
no usable report; 2 bad input (one line on stderr); 3 a backend you named, or every
default backend, is not installed; 6 incomplete: everything tested conforms, but some
property's sample had no example in an area of the contract; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM):
the reports asked for are written with what finished, marked "interrupted": true.

{RULES}"""


KNOWN_UPDATE_DESCRIPTION = """\
Write into the known-divergence files the edits a run's report proposes, each in the file
that declares the entry, every other byte left as it was: a FIXED entry's range closed at
the version tested; a CHANGED entry's shows_as widened by how its own case diverges now;
an entry's condition widened where a new divergence with a saved case resembles it in
everything but its condition. Review the result with git diff."""

KNOWN_UPDATE_EPILOG = f"""\
exit status: 0 every proposed edit written (or none proposed); 1 written, but some
findings need a person (listed: a CHANGED entry whose case no longer meets its condition,
a divergence that resembles several entries or differs in its version range); 2 bad input.

{RULES}"""

GPU_DESCRIPTION = """\
Ask TensorFlow, torch and JAX (each in a subprocess) whether they see a GPU; with none,
say so in one line and exit 0. Otherwise run the built-in rows of those frameworks
(builtin-keras-tensorflow, -torch, -jax: their cuDNN paths and generic loops, with masks
right- and left-padded, fully masked rows, go_backwards, gradients) against the CPU
reference, as `run` does, under the `gpu` profile (under 10 minutes) with
RNN_CONFORMANCE_GPU=1. docs/gpu.md."""

GPU_EPILOG = f"""\
exit status: 0 no GPU visible (skipped), or every selected row conforms; else the run's
own (1, 2, 3, 6: see rnn-conformance run --help); 1 also where a framework's probe crashed
or timed out (no proof of no GPU); 4 a GPU is visible but this suite has no built-in rows
to run (one line on stderr).

{RULES}"""
GPU_BACKEND_TIMEOUT = 600  # the command promises 10 minutes: a worker past them is an error, not a wait


MAX_COUNT = 1_000_000  # examples, seeds, jobs: more is a typo, not a plan (and a list of 10^12 seeds is no memory)


def _said(text):
    """A command-line value in an error line: at most ~60 characters of it."""
    text = ascii(text)
    return text if len(text) <= 60 else text[:57] + "..."


def count(text):
    """A whole number from 1 to MAX_COUNT (named for users: argparse shows a type's name)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {_said(text)}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT:,}, got {_said(text)}")
    return value


def whole_number(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {_said(text)}") from None


def _number_of_seconds(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {_said(text)}") from None


def seconds(text):
    """A number of seconds above 0 (a whole number stays one: '120 s', not '120.0 s')."""
    value = _number_of_seconds(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {_said(text)}")
    return int(value) if value.is_integer() else value


def shrink_seconds(text):
    """0 or more seconds; inf for no limit (conformance/base/limits.py)."""
    value = _number_of_seconds(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds (inf: no limit), got {_said(text)}")
    return value


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # soak's --seeds must not take run's --seed by prefix
        super().__init__(*args, **kwargs)

    def error(self, message):
        """One line, not argparse's usage block (exit status 2)."""
        usage_error(f"{message} (see {PROG} --help)")
        raise SystemExit(2)


def _shared_options(parser, profile_default=None, profile_help=PROFILE_HELP, profiles=PROFILES):
    """The options run, mutants, soak and gpu take (gpu without --profile: profiles=())."""
    if profiles:
        parser.add_argument("--profile", choices=profiles, default=profile_default, help=profile_help)
    parser.add_argument("--max-examples", type=count, metavar="N", help="examples per property and target (overrides the profile)")
    parser.add_argument("--example-timeout", type=seconds, default=120, metavar="SECONDS",
                        help="seconds before one example counts as a hang, a crash (default: 120)")
    parser.add_argument("--shrink-seconds", type=shrink_seconds, default=DEFAULT_SHRINK_SECONDS, metavar="SECONDS",
                        help="seconds a property may spend after its first failure on a target (shrinking it) before "
                        f"it reports the smallest failure found so far (default: {DEFAULT_SHRINK_SECONDS:g}; 0: no "
                        "shrinking; inf: no limit)")
    parser.add_argument("--report", metavar="PATH.json", help="write the versioned JSON report")
    parser.add_argument("--markdown", metavar="PATH.md", help="write the table as Markdown")


RUN_REPRO_DIR = ("rnn-conformance-repros", "where cases, reproducers and worker logs go (default: rnn-conformance-repros)")
SOAK_REPRO_DIR = ("rnn-conformance-soak", "where each seed's report, cases, reproducers and logs go (DIR/seed-S; "
                  "default: rnn-conformance-soak)")


def _run_options(parser, run_only=True, repro_dir=RUN_REPRO_DIR):
    """run's options; soak takes those without `run_only` (it sets the seed itself, runs
    the suite's cells on the installed releases, and never stops a backend early)."""
    parser.add_argument("--backends", metavar="a,b", help="comma-separated backend names, each tested once "
                        "(default: every installed default backend; rnn-conformance list names them)")
    parser.add_argument("--impl", metavar="MODULE:FUNC", help="also test this function with the rnn signature "
                        "(imported from the current directory, in the workers only)")
    parser.add_argument("--impl-ops", default="numpy", choices=IMPL_OPS, help="the array library of --impl's step functions (default: numpy)")
    if run_only:
        _user_cell_options(parser)
    _worker_options(parser, run_only, repro_dir)


def _user_cell_options(parser):
    parser.add_argument("--cell", metavar="MODULE:CLASS", help="test your own Keras 3 cell (a keras.layers.Layer with "
                        "state_size) through keras.layers.RNN on the Keras 3 layer rows, instead of the suite's cells")
    parser.add_argument("--cell-args", metavar="JSON", help="keyword arguments of the --cell class, a JSON object")
    parser.add_argument("--input-shape", metavar="N[,N...]", help="the per-step input shape --cell is built for (default: 3)")
    parser.add_argument("--cell-framework", metavar="keras3|tf-keras", help="the Keras --cell is written for: keras3 "
                        "(default; the Keras 3 layer rows) or tf-keras (a tf_keras.layers.Layer, on layer-tf-keras)")
    parser.add_argument("--constant-shape", action="append", metavar="N[,N...]", help="per-sample shape of a constant "
                        "the --cell cell's call reads (tf-keras), once per constant")


def _worker_options(parser, run_only, repro_dir, backend_timeout=3600):
    if run_only:
        parser.add_argument("--seed", type=whole_number, metavar="N", help="Hypothesis seed (ci is derandomized already)")
    parser.add_argument("--jobs", type=count, default=os.cpu_count() or 1, metavar="N",
                        help=f"backends tested at once (default: the number of CPUs, here {os.cpu_count() or 1})")
    parser.add_argument("--repro-dir", default=repro_dir[0], metavar="DIR", help=repro_dir[1])
    parser.add_argument("--ignore-known", action="store_true", help="excuse no declared divergence")
    parser.add_argument("--known-divergences", metavar="FILE", help="the known-divergence file (default: the one shipped "
                        "in the conformance package; its format: docs/known-divergences.md)")
    parser.add_argument("--extra-known", action="append", metavar="FILE", help="a known-divergence file of your own, "
                        "layered on the shipped one (entries under ids of their own); repeatable")
    parser.add_argument("--backend-timeout", type=seconds, default=backend_timeout, metavar="SECONDS",
                        help="seconds before a backend's worker is killed and reported as an error, whatever its "
                        f"code catches (default: {backend_timeout})")
    if run_only:
        _release_options(parser)
    parser.add_argument("--env-dir", metavar="DIR", help="where the managed environments of backends that need "
                        "their own (Keras 2 on Theano) are created on first use and reused (default: "
                        "$RNN_CONFORMANCE_ENV_DIR, else ~/.cache/rnn-conformance/envs)")
    if run_only:
        parser.add_argument("--fail-fast", action="store_true",
                            help="stop each backend at its first new divergence (shrunk and reported; declared ones do not stop it)")


def _release_options(parser):
    parser.add_argument("--keras", metavar="VERSION[,VERSION]", help="run the Keras 3 rows (those of --backends, "
                        "else all) on these Keras releases instead, each in a managed overlay environment")
    parser.add_argument("--tf-keras", metavar="VERSION[,VERSION]", help="run the tf_keras rows on these tf-keras releases "
                        "instead, each in a managed environment (with the TensorFlow of its release)")


def build_parsers():
    """(the top-level parser, {command: its parser})."""
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0], epilog=RULES)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    raw = argparse.RawDescriptionHelpFormatter
    run = commands.add_parser("run", help="test backends (the default command)", description=RUN_DESCRIPTION,
                              epilog=RUN_EPILOG, formatter_class=raw)
    _shared_options(run)
    _run_options(run)
    listing = commands.add_parser("list", help="every backend: installed or not, version, modes", epilog=RULES)
    mutants = commands.add_parser("mutants", help="the mutation score of the suite", epilog=RULES,
                                  description="Run the properties on each mutant of the catalog until one fails; exit 1 if one survives.")
    mutants.add_argument("--mutants", metavar="a,b", help="only these (default: the whole catalog)")
    _shared_options(mutants, "ci", "Hypothesis profile (default: ci, derandomized, so that a mutation score is reproducible)")
    merge = commands.add_parser("merge", help="join the JSON reports of several runs into one", epilog=RULES,
                                description="Join the JSON reports of several runs (environments, machines, CI jobs) "
                                "into one report and one matrix; the same backend and mode reported twice is an error.")
    merge.add_argument("reports", nargs="+", metavar="REPORT.json", help="the reports to join, in the order their rows are shown")
    merge.add_argument("--report", metavar="PATH.json", help="write the joined JSON report")
    merge.add_argument("--markdown", metavar="PATH.md", help="write the joined table as Markdown")
    soak = commands.add_parser("soak", help="many random seeds, undeclared failures grouped by root cause",
                               description=SOAK_DESCRIPTION, epilog=SOAK_EPILOG, formatter_class=raw)
    _shared_options(soak, "dev", "Hypothesis profile, a random one (default: dev)", SOAK_PROFILES)
    _run_options(soak, run_only=False, repro_dir=SOAK_REPRO_DIR)
    soak.add_argument("--seeds", type=count, default=20, metavar="N", help="how many seeds (default: 20)")
    soak.add_argument("--first-seed", type=whole_number, metavar="N", help="the first seed (default: a random one, printed)")
    known = commands.add_parser("known", help="maintain the known-divergence file", epilog=RULES,
                                description="Maintain the known-divergence file (conformance/known/known_divergences.toml, "
                                "or the files a run layered).")
    known_commands = known.add_subparsers(dest="known_command", metavar="ACTION", required=True, parser_class=_Parser)
    update = known_commands.add_parser("update", help="write the edits a run's report proposes", epilog=KNOWN_UPDATE_EPILOG,
                                       description=KNOWN_UPDATE_DESCRIPTION, formatter_class=raw)
    update.add_argument("--report", required=True, metavar="PATH.json", help="the JSON report of the run (rnn-conformance --report)")
    update.add_argument("--dry-run", action="store_true", help="print the edits, write nothing")
    gpu = commands.add_parser("gpu", help="the built-in rows on a GPU; on a CPU machine, one line", description=GPU_DESCRIPTION,
                              epilog=GPU_EPILOG, formatter_class=raw)
    _shared_options(gpu, profiles=())  # the `gpu` profile always: it keeps the run under 10 minutes
    _worker_options(gpu, run_only=False, repro_dir=RUN_REPRO_DIR, backend_timeout=GPU_BACKEND_TIMEOUT)
    return parser, {"run": run, "list": listing, "mutants": mutants, "merge": merge, "soak": soak, "known": known, "gpu": gpu}


def parse_arguments(argv):
    parser, by_command = build_parsers()
    argv = list(argv)
    if argv[:1] in (["-h"], ["--help"]):
        argv = ["run", "--help"]  # what rnn-conformance does without a command; it names the others
    elif not argv or argv[0].startswith("-"):
        argv = ["run", *argv]
    elif argv[0] not in COMMANDS:
        parser.error(f"unknown command {argv[0]!r}; commands: {', '.join(COMMANDS)}")
    args, extras = parser.parse_known_args(argv)
    if extras:
        parser.error(_misplaced(args.command, extras, by_command))
    if getattr(args, "profile", "") is None:
        from conformance.base import profiles

        args.profile = profiles.default_profile()
    return args


def _misplaced(command, extras, by_command):
    """Why the extra arguments are refused: another command's option, or unknown."""
    option = next((e.split("=")[0] for e in extras if e.startswith("-")), None)
    for other, other_parser in by_command.items():
        if other != command and option in other_parser._option_string_actions:
            return f"{option} does not apply to {command} ({option} applies to the {other} command only)"
    return f"unrecognized arguments: {' '.join(extras)}"


def main(argv=None):
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # argparse printed a one-line usage error (or --help)
        return 0 if exit_.code == 0 else 2
    try:
        if args.command == "list":
            from conformance.command import list_command

            return list_command.main(args)
        if args.command == "mutants":
            from conformance.command import mutants_command

            return mutants_command.main(args)
        if args.command == "merge":
            from conformance.command import merge_command

            return merge_command.main(args)
        if args.command == "soak":
            from conformance.command import soak_command

            return soak_command.main(args)
        if args.command == "known":
            from conformance.command import known_update

            return known_update.main(args)
        if args.command == "gpu":
            from conformance.command import gpu_command

            return gpu_command.main(args)
        from conformance.command import run_command

        return run_command.main(args)
    except KeyboardInterrupt:  # before or after the workers (run_command handles it during)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
