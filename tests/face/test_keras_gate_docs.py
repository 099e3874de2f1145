"""The manual's "Gate a Keras change" (docs/keras-versions.md, linked from the README) is short
enough to follow and says what the code does:
at most 40 lines, every `rnn-conformance` command in it parses, and the FIXED line it shows
is the one conformance/results/report.py writes for such a replay."""

import re
import shlex
from pathlib import Path

from conformance.results import report
from conformance.cli import parse_arguments
from conformance.judge.targets import Target
from fake_backends import FakeBackend

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "keras-versions.md").read_text()
SECTION = re.search(r"^## Gate a Keras change\n(.*?)(?=^## )", PAGE, re.M | re.S).group(0)


def test_the_section_is_at_most_40_lines():
    assert len(SECTION.rstrip("\n").splitlines()) <= 40


def test_every_command_in_it_parses():
    commands = [line.split("rnn-conformance", 1)[1].split("#")[0] for line in re.findall(r"`[^`]*rnn-conformance [^`]*`|^\S*rnn-conformance .*$", SECTION, re.M)]
    commands = [c.strip().rstrip("`") for c in commands]
    assert len(commands) >= 3, commands
    for command in commands:
        args = parse_arguments(shlex.split(command))
        assert args.command in ("run", "known"), command


def test_its_fixed_line_is_the_one_the_report_writes():
    (shown,) = [line.strip() for line in SECTION.splitlines() if line.strip().startswith("FIXED ")]
    entry = "keras-jax-constants-dropped-without-unroll"
    summary = (f"FIXED: {entry}: its case agrees with the reference on keras 3.16.0.dev0; edit "
               'conformance/known/known_divergences.toml: versions = ">=3.0.0,<3.16.0.dev0"')
    backend = FakeBackend("keras-jax@checkout-3.16.0.dev0")
    results = [report.result(Target(backend, mode), "test_agreement::test_agrees_with_reference", "known-fixed", "R2", summary,
                             known_divergence=entry, replay=True) for mode in ("eager", "jit")]
    backend.modes = ("eager", "jit")
    assert report.ledger_lines(report.build_report([backend], results, "ci")) == [shown]
