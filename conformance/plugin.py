"""The pytest plugin: `--backends`, the `target` fixture, Hypothesis profiles, a summary.

Every property test takes a `target` argument; this plugin parametrizes it with each
selected backend in each of its execution modes. A backend that is not installed is
never silently dropped: asked for by name, its tests fail with "NOT INSTALLED"; in a
default run they are skipped with that reason and listed again in the summary.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of reports

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from cells.user_cell import cannot_run_at_all  # noqa: E402
from conformance.harness import covering
from conformance.harness import saved_failures
from conformance.harness import this_run
from conformance.harness import ledger_plugin
from conformance.results import matrix
from conformance.base import profiles
from conformance.replay import repro
from conformance.results import report
from conformance.harness import seen
from conformance.judge.assertions import divergences_in  # noqa: E402
from conformance.backends import AWAITING_TRIAGE, UnknownBackend, default_backends, get_backend, not_installed_message, register_impl  # noqa: E402,F401 (not_installed_message: also its old name here)
from conformance.backends.base import gradient_mode  # noqa: E402
from conformance.backends.impl import IMPL_OPS, ImplError  # noqa: E402
from conformance.base.output_paths import OutputError  # noqa: E402
from conformance.results.results import RAN, ReportView  # noqa: E402
from conformance.judge.targets import Target, targets_for  # noqa: E402

settings.load_profile(profiles.default_profile())

_SELECTED = pytest.StashKey()
DELEGATED = pytest.StashKey()  # names of the selected backends that run in their managed environment
_EXPLICIT = pytest.StashKey()
_RESULTS = pytest.StashKey()  # report.result() dicts, one per property outcome

# The run's state (conformance/harness/this_run.py, with --shrink-seconds), the command's live
# progress (--progress), the
# compiled modes' example budget (conformance/base/budgets.py) and --cell (a user's own cell,
# conformance/harness/user_cell_plugin.py) are plugins of their own, loaded with this one.
# The facts of every example run, for `soak` (--record-examples), is one too, and so is the
# ledger of declared divergences (--known-divergences, --extra-known, --ignore-known), and
# the top-up runs that give every property an example in each of its areas (conformance/harness/covering.py).
pytest_plugins = ("conformance.harness.this_run", "conformance.harness.parent_watch", "conformance.harness.progress", "conformance.base.budgets", "conformance.harness.user_cell_plugin",
                  "conformance.harness.seen", "conformance.harness.ledger_plugin", "conformance.harness.covering")


def pytest_addoption(parser):
    group = parser.getgroup("rnn-conformance")
    group.addoption(
        "--backends",
        default=None,
        help="comma-separated backend names to test (default: every backend run by default)",
    )
    group.addoption("--matrix", default=None, help="write the backend x mode matrix of this run as Markdown")
    group.addoption(
        "--repro-dir",
        default=str(repro.DEFAULT_DIR),
        help="where each failing property writes its minimal example (a JSON case) and a reproducer script",
    )
    group.addoption("--impl", default=None, metavar="MODULE:FUNC", help="test a third-party function with the rnn signature")
    group.addoption(
        "--impl-ops",
        default="numpy",
        help=f"the array library the --impl function's step functions use: {', '.join(IMPL_OPS)} (default numpy)",
    )
    group.addoption("--max-examples", type=int, default=None, help="examples per property and target (overrides the profile)")
    group.addoption(
        "--example-timeout", type=float, default=None, help="seconds one example may run before it counts as a hang (a crash)"
    )
    group.addoption("--report", default=None, metavar="PATH.json", help="write the run's results as a JSON report")
    group.addoption("--no-example-database", action="store_true",
                    help="replay no failure an earlier run saved in Hypothesis' example database: the seed alone decides "
                    "what runs (soak)")
    group.addoption("--env-dir", default=None, metavar="DIR",
                    help="where managed environments are created and reused (default: ~/.cache/rnn-conformance/envs)")
    group.addoption("--markdown", default=None, metavar="PATH.md", help="write the divergence matrix as Markdown")


@pytest.hookimpl(trylast=True)  # after Hypothesis' plugin loaded --hypothesis-profile
def pytest_configure(config):
    if _xdist_controller(config):
        asked = [o for o in ("--report", "--markdown", "--matrix", "--progress") if config.getoption(o)]
        if asked:
            raise pytest.UsageError(
                f"{', '.join(asked)} cannot be written under pytest-xdist (-n): the results stay in its "
                "workers; run without -n, or use rnn-conformance --jobs N (one process per backend)"
            )
    # Absolute now: an --impl module imported below may change directory at import, and
    # the cases and reports must land where the user was told they would.
    for option in ("repro_dir", "report", "markdown", "matrix"):
        if getattr(config.option, option, None):
            setattr(config.option, option, os.path.abspath(getattr(config.option, option)))
    if config.getoption("--max-examples"):
        settings.register_profile("rnn-conformance-max-examples", parent=settings.default, max_examples=config.getoption("--max-examples"))
        settings.load_profile("rnn-conformance-max-examples")
    if config.getoption("--no-example-database"):
        settings.register_profile("rnn-conformance-no-database", parent=settings.default, database=None)
        settings.load_profile("rnn-conformance-no-database")
    this_run.of(config).example_timeout = config.getoption("--example-timeout")
    names = config.getoption("--backends")
    impl = None
    if config.getoption("--impl"):
        try:
            impl = register_impl(config.getoption("--impl"), config.getoption("--impl-ops"))
        except ImplError as error:
            raise pytest.UsageError(str(error)) from None
        if names is None:
            names = impl.name  # --impl alone tests just that function
        elif impl.name not in names.split(","):
            names += "," + impl.name
    explicit = names is not None
    if explicit:
        names = [n.strip() for n in names.split(",") if n.strip()]
        if not names:
            raise pytest.UsageError("--backends needs at least one backend name")
        try:
            for name in names:
                get_backend(name)
        except UnknownBackend as error:
            raise pytest.UsageError(str(error)) from None
    else:
        names = [b.name for b in default_backends()]
    # A backend this interpreter cannot run but its managed environment can (Keras 2 on
    # Theano) is delegated: conformance/properties/test_environments.py runs its tests there.
    delegated = [name for name in names if get_backend(name).runs_in_environment()]
    config.stash[_SELECTED] = [name for name in names if name not in delegated]
    config.stash[DELEGATED] = delegated
    config.stash[_EXPLICIT] = explicit
    config.addinivalue_line("markers", "needs_options(*names): the property is about options some APIs lack")
    config.addinivalue_line("markers", "needs_gradients: the property differentiates (not applicable without autodiff)")
    config.addinivalue_line("markers", "needs_low_precision: the property draws float16 and bfloat16 (not applicable where a backend takes neither)")
    config.addinivalue_line("markers", "needs_dtype_policies: the property draws layer dtype policies (not applicable without a policy API)")
    config.stash[_RESULTS] = []


def pytest_generate_tests(metafunc):
    if "delegated_environment" in metafunc.fixturenames:
        groups = {}
        for name in metafunc.config.stash[DELEGATED]:
            groups.setdefault(get_backend(name).environment, []).append(name)
        params = [(spec, tuple(names)) for spec, names in groups.items()]
        metafunc.parametrize("delegated_environment", params, ids=[spec.name for spec, _ in params])
    if "target" in metafunc.fixturenames:
        # A property module about the layer (contract section 2) says so with
        # CONTRACT_LEVEL = "layer"; its properties run on the layer backends only.
        level = getattr(metafunc.module, "CONTRACT_LEVEL", "function")
        targets = targets_for(metafunc.config.stash[_SELECTED], level)
        metafunc.parametrize("target", targets, ids=[t.id for t in targets], indirect=True, scope="session")
    if "known_case" in metafunc.fixturenames:
        selected = set(metafunc.config.stash[_SELECTED])
        cases = [
            (entry, Target(get_backend(entry.backend), mode))
            for entry in this_run.of(metafunc.config).ledger.entries
            if entry.backend in selected
            for mode in entry.modes
        ]
        metafunc.parametrize("known_case", cases, ids=[f"{e.id}-{t.mode}" for e, t in cases])


def pytest_collection_modifyitems(config, items):
    """A property with no target of its level among the selected backends is not collected
    (e.g. the layer properties under `--backends keras-jax`), rather than skipped."""
    dropped = [item for item in items if _without_target(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def _without_target(item):
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "delegated_environment" in getattr(item, "fixturenames", ()):
        return not isinstance(params.get("delegated_environment"), tuple)  # nothing delegated
    return "target" in getattr(item, "fixturenames", ()) and not isinstance(params.get("target"), Target)


def pytest_runtest_setup(item):
    """Properties about an option a backend's API lacks are not applicable there."""
    marker = item.get_closest_marker("needs_options")
    callspec = getattr(item, "callspec", None)
    if marker and callspec and "target" in callspec.params:
        callspec.params["target"].require(*marker.args)
    if item.get_closest_marker("needs_gradients") and callspec and isinstance(callspec.params.get("target"), Target):
        callspec.params["target"].require_gradients()
    if item.get_closest_marker("needs_low_precision") and callspec and isinstance(callspec.params.get("target"), Target):
        callspec.params["target"].require_low_precision()
    if item.get_closest_marker("needs_dtype_policies") and callspec and isinstance(callspec.params.get("target"), Target):
        callspec.params["target"].require_dtype_policies()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Save each failing property's minimal example, and say where, under the failure."""
    report = yield
    divergences = divergences_in(call.excinfo.value) if call.excinfo is not None else []
    saved = saved_failures.save(divergences, item.config.getoption("--repro-dir"), report) if call.when == "call" else {}
    _record_results(item, call, report, divergences, saved)
    return report


def _not_minimal(divergence):
    """The note of a failure whose shrinking a time bound cut short (conformance/base/limits.py):
    under load the same seed may then stop at another example, and the report says so."""
    return next((n for n in getattr(divergence, "__notes__", ()) if n.startswith("shrinking stopped")), None)


def _property_id(item):
    return f"{item.module.__name__.rsplit('.', 1)[-1]}::{getattr(item, 'originalname', item.name)}"


def _record_results(item, call, outcome_report, divergences, saved):
    """The report's results: one per property outcome (and per divergence it raised)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    results, entry = item.config.stash[_RESULTS], None
    if isinstance(params.get("target"), Target):
        target, property_id = params["target"], _property_id(item)
    elif isinstance(params.get("known_case"), tuple):  # (an empty parameter set gives NOTSET)
        entry, target = params["known_case"]
        property_id = entry.property
    else:
        return
    if call.when != "call" and not (outcome_report.skipped or outcome_report.failed):
        return
    reason = str(call.excinfo.value) if call.excinfo is not None else ""
    replay = {"replay": entry is not None}
    if "NOT INSTALLED" in reason:
        results.append(report.result(target, property_id, "not-installed", summary=reason, **replay))
    elif outcome_report.skipped:
        results.append(report.result(target, property_id, "not-applicable", summary=reason, **replay))
    elif entry is not None:  # a declared divergence's replay (conformance/properties/test_known_divergences.py)
        said = dict(item.user_properties)
        verdict = said.get("known_verdict", {})
        # (a replay that failed without a verdict, the harness choking on it, is not "reproduced")
        outcome = verdict.get("outcome", "known-changed") if outcome_report.failed else "known"
        _, example, _ = repro.load_case(entry.example)
        results.append(report.result(target, property_id, outcome, entry.rule, reason.splitlines()[0] if reason else entry.reason,
                                     example, known_divergence=entry.id, case=entry.example, replay=True,
                                     edit=verdict.get("edit"), known_file=entry.source,
                                     tested_version=verdict.get("version", said.get("known_tested_version"))))
    elif outcome_report.failed and divergences:
        for d in divergences:
            case, script = saved.get(id(d), (None, None))
            outcome = "crash" if d.crash else "fail"
            results.append(report.result(target, property_id, outcome, d.rule, d.summary, d.example, case=case, reproducer=script,
                                         resembles=getattr(d, "resembles", None),
                                         declared_underneath=getattr(d, "declared_underneath", None),
                                         cannot_run=cannot_run_at_all(d), not_minimal=_not_minimal(d)))
    elif outcome_report.failed:  # not a Divergence: the harness or Hypothesis itself failed
        first_line = reason.strip().splitlines()[0] if reason.strip() else type(call.excinfo.value).__name__
        results.append(report.result(target, property_id, "fail", None, f"{type(call.excinfo.value).__name__}: {first_line}"))
    else:
        results.append(report.result(target, property_id, "pass", coverage=covering.coverage_of(item, target, property_id)))


@pytest.fixture(scope="session")
def target(request):
    """One backend in one mode; fails or skips loudly when its framework is missing."""
    chosen = request.param
    message = not_installed_message(chosen.backend)
    if message:
        if request.config.stash[_EXPLICIT]:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return chosen


def pytest_report_header(config):
    lines = [f"rnn-conformance backends: {', '.join(config.stash[_SELECTED])}"]
    if config.stash[DELEGATED]:
        lines.append(f"in their managed environments (conformance/properties/test_environments.py): {', '.join(config.stash[DELEGATED])}")
    if not config.stash[_EXPLICIT] and AWAITING_TRIAGE:
        lines.append(f"run only when named (divergences not yet declared): {', '.join(sorted(AWAITING_TRIAGE))}")
    return lines


def _xdist_controller(config):
    """True in the controller process of `pytest -n N` (N > 0), which runs no test itself."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _xdist_controller(config):
        terminalreporter.section("rnn-conformance backends")
        terminalreporter.write_line(
            "under pytest-xdist the per-backend speed and the divergence matrix stay in the workers: "
            "pytest's own summary above is the result (rnn-conformance --jobs N prints the matrix)"
        )
        return
    _summarize_backends(terminalreporter, config)
    run_report = _run_report(config)
    run_report["interrupted"] = exitstatus == pytest.ExitCode.INTERRUPTED
    view = ReportView(run_report)  # every rendering below reads the same derived rows
    if any(b["results"] for b in run_report["backends"]):  # (not for the suite's own tests alone)
        terminalreporter.section("divergence matrix")
        terminalreporter.write_line(report.matrix_text(view))
        changed = report.ledger_lines(view)
        if changed:
            terminalreporter.section("declared divergences whose case changed")
            terminalreporter.write_line("\n".join(changed))
        details = report.divergences_text(view)
        if details:
            terminalreporter.section("new divergences")
            terminalreporter.write_line(details)
        terminalreporter.section("rnn-conformance summary")
        terminalreporter.write_line(report.summary_text(view))
    outputs = (("--report", report.write_json), ("--markdown", report.write_markdown), ("--matrix", matrix.write_readme_table))
    for option, write in outputs:
        path = config.getoption(option)
        if path:
            try:
                write(view, path)
                terminalreporter.write_line(f"{option[2:]} written to {path}")
            except OutputError as error:
                terminalreporter.write_line(f"rnn-conformance: error: {error}", red=True)


def _run_report(config):
    """This process's report: the recorded results plus one "known" result per declared
    divergence, target and property that excused failing examples, with how many."""
    state = this_run.of(config)
    results, ledger = list(config.stash[_RESULTS]), state.ledger
    for (entry, target, property_id), divergence in ledger.first_excused.items():
        results.append(
            report.result(target, property_id or entry.property, "known", entry.rule, divergence.summary, divergence.example,
                          known_divergence=entry.id, case=entry.example, excused=ledger.excused[entry.id, target.id, property_id])
        )
    backends = [get_backend(name) for name in config.stash[_SELECTED]]
    run_report = report.build_report(backends, results, _profile_name(config), speed=_speed(backends, state),
                                     known_files=ledger_plugin.known_files(config))
    run_report["max_examples"] = settings.default.max_examples
    recorder = seen.recorder_of(config)
    if recorder is not None:
        for entry in run_report["backends"]:
            entry["seen"] = recorder.entries(entry["name"])
    return run_report


def _speed(backends, state):
    """Per backend and mode: examples run (drawn by Hypothesis, or made while shrinking),
    data sets checked (the examples plus, in compiled modes, their siblings), seconds spent
    (harness included), how many backend calls traced a new function, reused one (for a
    layer row's modes that do not compile, a layer or model built before), or crashed, and
    how often shrinking was cut short by a bound."""
    speed = {}
    for backend in backends:
        stats = getattr(backend, "compile_stats", None) or {}
        for mode in backend.modes:
            target_id = f"{backend.name}-{mode}"
            if state.examples_run[target_id]:
                speed.setdefault(backend.name, {})[mode] = {
                    "examples": state.examples_run[target_id],
                    "drawn": state.drawn_run[target_id],
                    "shrinking": state.shrink_run[target_id],
                    "shrink_cut_short": state.shrink_cut_short[target_id],
                    "data_sets": state.data_sets_run[target_id],
                    "compiled": mode in backend.compiled_modes,
                    "seconds": state.seconds_spent[target_id],
                    "traced": stats.get((mode, "traced"), 0),
                    "reused": stats.get((mode, "reused"), 0),
                    "crashed": stats.get((mode, "crashed"), 0),
                    # the value-and-grad functions of the gradient properties, counted apart
                    "grad_traced": stats.get((gradient_mode(mode), "traced"), 0),
                    "grad_reused": stats.get((gradient_mode(mode), "reused"), 0),
                    "grad_crashed": stats.get((gradient_mode(mode), "crashed"), 0),
                }
                paths = getattr(backend, "path_counts", {})  # a built-in row's own-path modes (issue 41)
                if any(m == mode for m, _ in paths):
                    speed[backend.name][mode]["paths"] = {taken: n for (m, taken), n in paths.items() if m == mode}
    return speed


def _profile_name(config):
    return config.getoption("--hypothesis-profile", default=None) or profiles.default_profile()


def _summarize_backends(terminalreporter, config):
    terminalreporter.section("rnn-conformance backends")
    for name in config.stash[DELEGATED]:
        terminalreporter.write_line(f"{name}: tested in its managed environment ({get_backend(name).environment.name}): "
                                    "conformance/properties/test_environments.py")
    ran = {r["backend"] for r in config.stash[_RESULTS] if r["outcome"] in RAN}
    for name in config.stash[_SELECTED]:
        backend = get_backend(name)
        message = not_installed_message(backend)
        if message:
            terminalreporter.write_line(f"{name}: {message}", red=True, bold=True)
        elif name in ran:  # (asked only there: a layer row asks its worker, which a run of no property never starts)
            terminalreporter.write_line(f"{name}: installed ({backend.version()}); modes: {', '.join(backend.modes)}{backend.refusals()}")
            for found in backend.code_versions():
                if found.disagreement():
                    terminalreporter.write_line(f"  NOTE {found.disagreement()}", yellow=True)
        else:
            terminalreporter.write_line(f"{name}: installed; nothing ran here; modes: {', '.join(backend.modes)}")
