"""A long run's worker splits into one pytest process per property module (issue 15: keep a
`thorough` run of one backend under 4 GB; TensorFlow's XLA cache only empties when its
process ends). Run for real on the fast reference backend with tiny budgets: the split is
real, the merged report and the progress count cover the whole backend, and a process that
dies, a timeout, --fail-fast and Ctrl-C act on the backend as a whole."""

import argparse
import json
import os
import re
import signal
import time

import pytest
from processes import alive

from conformance.results import results as model
from conformance.backends import BACKENDS, get_backend, register_impl
from conformance.command.run_command import split_by_module
from conformance.results import report
from conformance.command.workers import Worker, merge_parts, run_workers

FEW = ["--hypothesis-profile", "ci", "--max-examples", "2"]


def worker(tmp_path, split=True, options=(), backend=None):
    scratch = tmp_path / ("split" if split else "whole")
    scratch.mkdir()
    return Worker(backend or get_backend("reference"), [*FEW, "--repro-dir", str(scratch / "repros"), *options],
                  scratch, scratch, split=split)


def poll_until(w, condition, backend_timeout=None):
    while not condition():
        assert not w.poll(backend_timeout), f"finished before the condition held: {w.outcome()}"


def own_results(report):
    [entry] = report["backends"]
    return entry


@pytest.mark.e2e
def test_each_property_module_runs_in_a_process_of_its_own_and_the_report_has_every_result_once(tmp_path, capsys):
    split, whole = worker(tmp_path), worker(tmp_path, split=False)
    run_workers([split, whole], jobs=1)
    out = capsys.readouterr().out
    (merged, error), (single, single_error) = split.outcome(), whole.outcome()
    assert error is None and single_error is None, (error, single_error)
    ran = [p for p in split.parts if p.process is not None]
    assert len(ran) == len(split.parts) >= 5 and len({p.process.pid for p in ran}) == len(ran)
    for part in ran:  # each process ran one module's properties only (the replays of declared
        [module] = part.modules  # divergences, none on reference, run in test_known_divergences')
        properties = {r["property"] for r in own_results(part.report())["results"] if not r["replay"]}
        assert all(p.startswith(module.rsplit(".", 1)[1] + "::") for p in properties), (module, properties)
        assert properties or module == "conformance.properties.test_known_divergences", module
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    results = own_results(merged)["results"]
    assert len({key(r) for r in results}) == len(results)  # once each
    assert sorted(map(key, results)) == sorted(map(key, own_results(single)["results"]))  # as one process finds
    assert own_results(merged)["status"] == own_results(single)["status"] == "conforms"
    for mode, cost in own_results(single)["speed"].items():  # added up over the processes
        assert own_results(merged)["speed"][mode]["examples"] == cost["examples"]
        assert own_results(merged)["speed"][mode]["drawn"] == cost["drawn"]
    # one progress stream counting the whole backend: every "k/N" has the backend's N
    of_split = out[:out.index("[reference] started", out.index("[reference] started") + 1)]  # (then the other worker's)
    counts = [(int(k), int(n)) for k, n in re.findall(r"\[reference\] (?:finished in \d+ s: )?(\d+)/(\d+) tests", of_split)]
    totals = {n for _, n in counts}
    assert totals == {split.total} and split.total == sum(1 for line in split.collected_path.read_text().splitlines() if "::" in line)
    done = [k for k, _ in counts]
    assert done == sorted(done) and done[-1] == split.total, out


@pytest.mark.e2e
def test_a_process_that_dies_without_a_report_is_an_error_that_names_it_and_the_rest_do_not_run(tmp_path):
    w = worker(tmp_path)
    w.start()
    try:
        poll_until(w, lambda: w.parts is not None and w.current is w.parts[1])
        os.killpg(w.process.pid, signal.SIGKILL)
        while not w.poll():
            pass
    finally:
        w.stop("test over")  # (nothing left when it finished)
    finished, error = w.outcome()
    assert finished is None
    assert f"the worker's process 2/{len(w.parts)}: {w.parts[1].modules[0]} was killed by signal 9" in error, error
    assert all(p.process is None for p in w.parts[2:])
    assert w.parts[0].report() is not None  # what came before had its report: not enough


@pytest.mark.e2e
def test_the_backend_timeout_counts_from_the_backends_start_not_the_processs(tmp_path):
    w = worker(tmp_path)
    w.start()
    try:
        poll_until(w, lambda: w.parts is not None and w.current is w.parts[1])
        second = w.process.pid
        elapsed = time.monotonic() - w.started  # the collection and the first process at least
        assert w.poll(backend_timeout=elapsed * 0.9) is True  # the second process has run far less than that
    finally:
        w.stop("test over")
    finished, error = w.outcome()
    assert finished is None and "(--backend-timeout): killed" in error, error
    assert not alive(second)


@pytest.mark.e2e
def test_fail_fast_stops_the_backends_remaining_processes_after_a_new_divergence(tmp_path, monkeypatch):
    (tmp_path / "raising_rnn.py").write_text("def rnn(*args, **kwargs):\n    raise ValueError('not a loop')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setitem(BACKENDS, "impl:raising_rnn:rnn", None)  # registered for this test only: gone at its end
    backend = register_impl("raising_rnn:rnn", "numpy", load=False)
    w = worker(tmp_path, options=["-x"], backend=backend)
    run_workers([w], jobs=1)
    finished, error = w.outcome()
    assert error is None, error
    assert w.parts[0].process.returncode == 1 and all(p.process is None for p in w.parts[1:])
    assert any(r["outcome"] == "crash" for r in own_results(finished)["results"])
    assert model.exit_status(finished) == 1


@pytest.mark.e2e
def test_ctrl_c_ends_the_process_running_now(tmp_path):
    class Interrupted(Worker):
        def poll(self, backend_timeout=None):
            done = super().poll(backend_timeout)
            if self.parts is not None and self.current is self.parts[1]:
                self.second = self.process.pid
                raise KeyboardInterrupt
            return done

    scratch = tmp_path / "s"
    scratch.mkdir()
    w = Interrupted(get_backend("reference"), [*FEW, "--repro-dir", str(scratch)], scratch, scratch, split=True)
    with pytest.raises(KeyboardInterrupt):
        run_workers([w], jobs=1)
    assert not alive(w.second)
    assert w.outcome() == (None, "not finished: the run was interrupted")


def _report(name, results, speed, status="conforms"):
    return {"profile": "ci", "backends": [{"name": name, "status": status, "reason": None, "version": "1",
                                            "results": results, "speed": speed}]}


def test_merged_parts_add_up_speed_per_mode_and_excused_examples_per_entry():
    cost = {"examples": 3, "drawn": 2, "seconds": 1.5, "compiled": True, "traced": 1}
    known = {"mode": "xla", "property": "test_a::p", "outcome": "known", "known_divergence": "e1", "excused": 2, "replay": False}
    passed = {"mode": "xla", "property": "test_b::q", "outcome": "pass", "known_divergence": None, "excused": None, "replay": False}
    replay = {**known, "property": "test_known_divergences::r", "excused": None, "replay": True}
    merged = merge_parts([_report("b", [passed], {"xla": cost, "eager": cost}),
                          _report("b", [known], {"xla": cost}, "diverges"),
                          _report("b", [{**known, "property": "test_c::s", "excused": 5}, replay], {"xla": {**cost, "compiled": False}}, "diverges")])
    [entry] = merged["backends"]
    assert entry["speed"]["xla"] == {"examples": 9, "drawn": 6, "seconds": 4.5, "compiled": True, "traced": 3}
    assert entry["speed"]["eager"] == cost
    assert len(entry["results"]) == 4 and entry["status"] == "diverges"
    assert model.matched_known(merged) == [("e1", "b", "xla", 7, True)]
    assert merged["exit_status"] == 0  # declared divergences only


def test_merged_parts_add_up_a_built_in_rows_paths_key_by_key():
    """Issue 41: a built-in row's count of the paths that ran is a dict of counts."""
    one = {"examples": 3, "seconds": 1.0, "paths": {"own:lstm": 1, "generic": 1, "own:fell-back": 1}}
    two = {"examples": 3, "seconds": 1.5, "paths": {"generic": 2, "own:gru": 1}}
    merged = merge_parts([_report("builtin-keras-torch", [], {"call": one}), _report("builtin-keras-torch", [], {"call": two})])
    [entry] = merged["backends"]
    assert entry["speed"]["call"] == {"examples": 6, "seconds": 2.5,
                                      "paths": {"own:lstm": 1, "own:gru": 1, "own:fell-back": 1, "generic": 3}}
    line = "\n".join(report.speed_lines(merged))
    assert "own path in 3 runs (its kernel ran in 2: gru 1, lstm 1; the generic loop in 1), the generic path in 3" in line


@pytest.mark.parametrize("profile, max_examples, split", [("ci", None, False), ("dev", None, False), ("thorough", None, True),
                                                          ("ci", 100, True), ("thorough", 10, False)])
def test_a_run_splits_only_above_the_ci_budgets(profile, max_examples, split):
    assert split_by_module(argparse.Namespace(profile=profile, max_examples=max_examples)) is split


@pytest.mark.e2e
def test_a_conftest_in_the_directory_the_command_runs_in_is_not_loaded(tmp_path, monkeypatch):
    """`--pyargs conformance.test_x` is no path, so pytest would load ./conftest.py and
    ./tests*/conftest.py of the user's directory (the suite's own tests/conftest.py imports
    every property, fixing their Hypothesis settings before --max-examples applies)."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("raise RuntimeError('a conftest of the user')\n")
    monkeypatch.chdir(tmp_path)
    w = worker(tmp_path)
    run_workers([w], jobs=1)
    finished, error = w.outcome()
    assert error is None, error
    assert len(w.parts) > 1 and own_results(finished)["status"] == "conforms"
