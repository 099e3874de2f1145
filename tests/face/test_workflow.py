"""The GitHub Actions workflow (.github/workflows/conformance.yml) matches the project: its
matrix is tox.ini's envlist but `all`, and its rnn-conformance command parses; so does the
example gate for a Keras checkout (docs/workflows/keras-gate.yml). (PyYAML is not a
dependency; the lines checked are read as text.)"""

import configparser
import re
import shlex
from pathlib import Path

from conformance.research import releases
from conformance.backends import get_backend
from conformance.cli import parse_arguments

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = (ROOT / ".github" / "workflows" / "conformance.yml").read_text()
KERAS_GATE = (ROOT / "docs" / "workflows" / "keras-gate.yml").read_text()


def test_the_matrix_is_every_tox_group_but_all():
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envlist = [e.strip() for e in tox["tox"]["envlist"].split(",")]
    matrix = re.search(r"^\s+env: \[(.*)\]$", WORKFLOW, re.M).group(1)
    assert [e.strip() for e in matrix.split(",")] == [e for e in envlist if e != "all"]


def test_each_group_writes_the_report_the_merge_reads():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    groups = [e.strip() for e in tox["tox"]["envlist"].split(",") if e.strip() != "all"]
    commands = tox["testenv"]["commands"] + tox["testenv:theano"]["commands"]
    for env in groups:
        assert f"--report reports/{env}.json {{posargs}}" in commands, env
    assert "- run: tox -e ${{ matrix.env }}  #" in WORKFLOW
    assert "path: reports/${{ matrix.env }}.json" in WORKFLOW
    assert re.search(r"^  merge:\n    needs: group\n    if: always\(\)", WORKFLOW, re.M)


def test_the_merge_command_parses():
    line = next(l.strip()[len("- run: "):] for l in WORKFLOW.splitlines() if l.strip().startswith("- run: rnn-conformance merge"))
    words = shlex.split(line.replace("reports/*.json", "reports/jax.json reports/theano.json"))
    args = parse_arguments(words[1:])
    assert args.command == "merge" and args.reports == ["reports/jax.json", "reports/theano.json"]
    assert (args.markdown, args.report) == ("merged.md", "merged.json")


def test_the_weekly_soak_runs_the_tox_soak_env_whose_command_parses():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    command = tox["testenv:soak"]["commands"].replace("{posargs}", "").split()
    args = parse_arguments(command[1:])
    assert args.command == "soak" and args.seeds == 20 and args.profile in ("dev", "thorough")
    assert "soak" not in tox["tox"]["envlist"]  # hours: not part of `tox -p`
    assert re.search(r"^  soak:\n    if: github.event_name == 'schedule'\n", WORKFLOW, re.M)
    assert "- run: tox -e soak" in WORKFLOW


def _gate_steps():
    """The keras-gate job's steps, each as its lines (a step starts with `      - `)."""
    steps = []
    for line in KERAS_GATE.split("    steps:\n", 1)[1].splitlines():
        if line.startswith("      - "):
            steps.append([])
        if steps and line.strip() and not line.strip().startswith("#"):
            steps[-1].append(line.strip().removeprefix("- "))
    return steps


def _gate_step(predicate):
    """(index, lines) of the one step with a line for which `predicate` holds."""
    (found,) = [(i, step) for i, step in enumerate(_gate_steps()) if any(predicate(line) for line in step)]
    return found


def _gate_command():
    """The gate's rnn-conformance command, parsed as the command parses it."""
    _, step = _gate_step(lambda line: line.startswith("run: rnn-conformance "))
    line = next(line for line in step if line.startswith("run: rnn-conformance "))
    return parse_arguments(shlex.split(line.removeprefix("run: "))[1:])


def _working_directory(step):
    return next((line.removeprefix("working-directory: ") for line in step if line.startswith("working-directory: ")), None)


def test_the_keras_gate_runs_exactly_the_keras_3_rows_under_ci():
    args = _gate_command()
    names = args.backends.split(",")
    assert args.command == "run" and len(names) == len(set(names))
    assert sorted(names) == sorted(releases.PACKAGES["keras"]["rows"])
    assert (args.report, args.markdown) == ("conformance.json", "conformance.md")
    assert re.search(r"^    env:\n      CI: \"true\"", KERAS_GATE, re.M)


def test_the_keras_gate_installs_the_extras_of_its_rows_then_the_checkout_then_runs():
    """The suite first, with each row's extra; then this commit's Keras over the released one,
    as Keras' own CI installs it; then the run."""
    suite, step = _gate_step(lambda line: line.startswith("run: pip install ") and "rnn-conformance[" in line)
    extras = re.search(r"rnn-conformance\[([a-z,-]+)\] @ git\+https://github.com/OWNER/rnn-conformance", " ".join(step))
    assert extras, step
    assert {get_backend(n).extra for n in releases.PACKAGES["keras"]["rows"]} <= set(extras.group(1).split(","))
    checkout, _ = _gate_step(lambda line: line.startswith("uses: actions/checkout@"))
    uninstall, _ = _gate_step(lambda line: line == "run: pip uninstall -y keras keras-nightly")
    install, step = _gate_step(lambda line: line.startswith("run: pip install -e . --no-deps"))
    assert "pip install keras-openvino" in " ".join(step)  # the OpenVINO backend of the Keras after 3.15
    run, _ = _gate_step(lambda line: line.startswith("run: rnn-conformance "))
    assert checkout < suite < uninstall < install < run


def test_the_keras_gate_always_shows_the_matrix_and_keeps_the_report_and_repros():
    """Also when the gate fails: the step summary gets the --markdown file, and the artifact
    holds the --report file and the --repro-dir, each where the run wrote it."""
    args = _gate_command()
    _, run = _gate_step(lambda line: line.startswith("run: rnn-conformance "))
    where = _working_directory(run)
    assert where and not where.startswith(("${{ github.workspace }}", ".")), where  # (not in the Keras tree)
    _, summary = _gate_step(lambda line: "$GITHUB_STEP_SUMMARY" in line)
    assert "if: always()" in summary and _working_directory(summary) == where
    assert f'run: cat {args.markdown} >> "$GITHUB_STEP_SUMMARY"' in summary
    _, upload = _gate_step(lambda line: line.startswith("uses: actions/upload-artifact@"))
    assert "if: always()" in upload
    assert {f"{where}/{args.report}", f"{where}/{args.repro_dir}"} <= set(upload), upload


def test_the_weekly_nightly_job_runs_every_keras_3_row_on_keras_nightly():
    job = WORKFLOW[WORKFLOW.index("\n  nightly:\n"):]
    assert re.search(r"^  nightly:\n    if: github.event_name == 'schedule'\n", WORKFLOW, re.M)
    line = next(l.strip()[len("- run: "):] for l in job.splitlines() if l.strip().startswith("- run: rnn-conformance"))
    args = parse_arguments(shlex.split(line)[1:])
    assert args.keras == "nightly" and args.backends is None  # every Keras 3 row (conformance/research/releases.py)
    assert "--markdown reports/nightly.md" in line and 'cat reports/nightly.md >> "$GITHUB_STEP_SUMMARY"' in job
    assert job.index("mkdir -p reports") < job.index(line)  # the command refuses a report in a missing directory
