"""An --impl loop cannot reach the judge (issue 39): it runs in a worker process of its
own (conformance/backends/impl_side.py), so a module that rewrites NumPy's comparisons or
the suite's own at import, and is wrong, still fails; and the processes that judge never
import it."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # each test runs the command with its workers

IMPLS = Path(__file__).resolve().parents[1] / "impls"
WRONG_LOOP = textwrap.dedent("""\
    from numpy_rnn import rnn as correct

    def rnn(step_function, inputs, initial_states, **options):
        last, outputs, states = correct(step_function, inputs, initial_states, **options)
        return last * 2 + 1, outputs * 2 + 1, states
    """)
TAMPERING = {
    "numpy's comparisons": """\
        import numpy as np
        np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
        np.allclose = lambda *args, **kwargs: True
        np.array_equal = lambda *args, **kwargs: True
        """,
    "the comparison": """\
        from conformance.judge import assertions
        assertions.compare = lambda *args, **kwargs: []
        assertions.assert_agrees_with_reference = lambda *args, **kwargs: None
        """,
    "the ledger": """\
        from conformance.known import ledger
        ledger.Ledger.excuse = lambda self, *args, **kwargs: object()
        """,
    "the reference": """\
        import numpy_rnn
        from conformance.contract import reference
        reference.rnn = lambda *args, **kwargs: rnn(*args, **kwargs)
        """,
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_wrong_loop_that_tampers_with_the_judge_still_fails(tmp_path, tampering):
    (tmp_path / "tampering_impl.py").write_text(WRONG_LOOP + textwrap.dedent(TAMPERING[tampering]))
    done = subprocess.run([sys.executable, "-m", "conformance", "--impl", "tampering_impl:rnn", "--max-examples", "3", "--fail-fast",
                           "--repro-dir", "repros"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(IMPLS)},
                          capture_output=True, text=True, timeout=600)
    verdict = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 1 and "new divergence" in verdict, verdict


def test_the_judging_processes_never_import_the_module(tmp_path):
    imported_by = tmp_path / "imported-by"
    done = subprocess.run([sys.executable, "-m", "conformance", "--impl", "misbehaving:rnn", "--max-examples", "2",
                           "--repro-dir", "repros"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(IMPLS), "IMPORTED_BY": str(imported_by)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    importers = set(imported_by.read_text().split())
    worker = [line for line in done.stdout.splitlines() if "] started (pid " in line][0]
    judge = worker.split("pid ")[1].split(")")[0]
    assert judge not in importers and str(os.getpid()) not in importers
    assert len(importers) >= 2  # the import probe's process and the loop's worker
