"""The GitHub Actions workflow (.github/workflows/conformance.yml) matches the project: its
matrix is tox.ini's envlist but `all`, and its rnn-conformance command parses. (PyYAML is
not a dependency; the lines checked are read as text.)"""

import configparser
import re
import shlex
from pathlib import Path

from conformance.cli import parse_arguments

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = (ROOT / ".github" / "workflows" / "conformance.yml").read_text()


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
