"""What a run ends with: `report.summary_text` (speed, declared divergences met, the
verdict last), built from a report's results alone, as the command does from merged
worker reports."""

from cells.catalog import report_2018_example
from conformance.results import report
from conformance.judge.targets import Target
from fake_backends import FakeBackend

AGREEMENT = "test_agreement::test_agrees_with_reference"
SHAPES = "test_structure::test_shapes_and_dtypes"

SPEED = {"examples": 60, "drawn": 50, "shrinking": 10, "shrink_cut_short": 2, "data_sets": 60, "compiled": True,
         "seconds": 3.0, "traced": 5, "reused": 15, "crashed": 0}


def mixed_report():
    good, bad, declared = FakeBackend("good"), FakeBackend("bad"), FakeBackend("declared")
    ghost = FakeBackend("ghost", missing="ghostpkg")
    results = [
        report.result(Target(good, "eager"), AGREEMENT, "pass"),
        report.result(Target(bad, "eager"), AGREEMENT, "fail", "R3", "differs", report_2018_example()),
        report.result(Target(bad, "eager"), SHAPES, "crash", "R13", "CRASH: ValueError: b", report_2018_example()),
        report.result(Target(declared, "eager"), AGREEMENT, "pass"),
        report.result(Target(declared, "eager"), AGREEMENT, "known", "R4", "differs", report_2018_example(),
                      known_divergence="declared-r4", case="k.json", excused=7),
        report.result(Target(declared, "eager"), SHAPES, "known", "R4", "differs", report_2018_example(),
                      known_divergence="declared-r4", case="k.json", excused=2),
        report.result(Target(declared, "eager"), AGREEMENT, "known", "R4", "", report_2018_example(),
                      known_divergence="declared-r4", case="k.json", replay=True),
        report.result(Target(declared, "eager"), AGREEMENT, "known-fixed", "R2",
                      "FIXED: declared-r2: its case agrees with the reference on fake 2.0.dev0; edit k.toml: "
                      'versions = ">=1.0,<2.0.dev0"', report_2018_example(), known_divergence="declared-r2", case="f.json",
                      replay=True, edit={"versions": ">=1.0,<2.0.dev0"}, known_file="k.toml", tested_version="2.0.dev0"),
        report.result(Target(ghost, "eager"), AGREEMENT, "not-installed", summary="NOT INSTALLED: ghostpkg"),
    ]
    return report.build_report([good, bad, declared, ghost], results, "ci", speed={"good": {"eager": SPEED}})


def test_the_summary_ends_with_the_one_line_verdict():
    lines = report.summary_text(mixed_report()).splitlines()
    verdict = lines[-1]
    assert verdict.startswith("rnn-conformance: FAILED (exit status 1): ")
    assert "bad: 2 new divergences (1 CRASH)" in verdict
    assert "1 declared divergence reproduced" in verdict
    assert "FIXED: declared-r2" in verdict
    assert "not-installed: ghost" in verdict and "interrupted" not in verdict


def test_a_fixed_entry_is_one_line_with_the_edit_to_make():
    assert report.ledger_lines(mixed_report()) == [
        'FIXED declared-r2 on declared [eager]: its case agrees with the reference on fake 2.0.dev0; edit k.toml: '
        'versions = ">=1.0,<2.0.dev0"']
    assert report.proposes_edits(mixed_report())
    assert "declared-r2" not in report.divergences_text(mixed_report())  # not a new divergence


def test_the_matrix_begins_with_the_code_under_test_and_says_where_metadata_disagrees():
    assert report.matrix_text(mixed_report()).splitlines()[:2] == ["code under test:", "  fake 1.0 from /fake"]
    copy = mixed_report()
    copy["backends"][0]["code"] = [{"module": "keras", "version": "3.16.0.dev0", "path": "/tmp/copy/keras",
                                    "metadata": ["keras 3.15.1"], "disagreement": "keras: the code that runs is ..."}]
    text = report.matrix_text(copy)
    assert "  keras 3.16.0.dev0 from /tmp/copy/keras" in text and "  NOTE keras: the code that runs is ..." in text
    assert "- **NOTE** keras: the code that runs is ..." in report.matrix_markdown(copy)


def test_the_verdict_says_when_the_run_was_interrupted():
    interrupted = {**mixed_report(), "interrupted": True}
    assert report.summary_text(interrupted).splitlines()[-1].endswith("; interrupted")


def test_the_summary_has_one_speed_line_per_backend_mode():
    lines = report.summary_text(mixed_report()).splitlines()
    assert lines[0] == (
        "  good [eager]: 50 examples drawn + 10 shrink steps in 3.0 s, 20.0 examples/s, "
        "75% of compiled calls reused a trace; shrinking cut short 2 times"
    )


def test_the_summary_says_which_declared_divergences_matched_and_how_often():
    """Per entry and target: the examples excused in every property, and the replay."""
    lines = report.summary_text(mixed_report()).splitlines()
    assert "  declared-r4 on declared: eager 9 excused, its case reproduced" in lines


def test_the_summary_survives_a_json_round_trip_of_merged_worker_reports(tmp_path):
    import json

    path = tmp_path / "r.json"
    report.write_json(mixed_report(), path)
    merged = report.merge_reports([json.loads(path.read_text())], "ci")
    assert report.summary_text(merged) == report.summary_text(mixed_report())


def test_a_clean_run_passes():
    good = FakeBackend("good")
    clean = report.build_report([good], [report.result(Target(good, "eager"), AGREEMENT, "pass")], "ci")
    assert report.summary_text(clean) == "rnn-conformance: PASSED (exit status 0): no new divergences"


def test_one_line_per_declared_divergence_and_backend_whatever_its_modes():
    """A default run meets most entries in two or three modes: one line each, not one per mode."""
    two_modes = FakeBackend("two")
    two_modes.modes = ("eager", "jit")
    results = [
        report.result(Target(two_modes, mode), AGREEMENT, "known", "R4", "differs", report_2018_example(),
                      known_divergence="two-r4", case="k.json", excused=count)
        for mode, count in (("eager", 3), ("jit", 5))
    ]
    lines = report.summary_text(report.build_report([two_modes], results, "ci")).splitlines()
    assert [line for line in lines if "two-r4" in line] == ["  two-r4 on two: eager 3, jit 5 excused"]


def test_a_failure_whose_shrinking_was_cut_short_says_so_under_it():
    """Under load a time bound may stop at another example; the report says so (issue 39)."""
    from cells.catalog import report_2018_example
    from conformance.judge.targets import Target
    from conformance.plugin import _not_minimal
    from conformance.results import report
    from fake_backends import FakeBackend

    class Failure(Exception):
        pass

    failure = Failure()
    failure.add_note("Data set 2 of 5: a sibling")
    failure.add_note("shrinking stopped after 5 s (--shrink-seconds): this example may not be minimal")
    note = _not_minimal(failure)
    assert note.startswith("shrinking stopped after 5 s") and _not_minimal(Failure()) is None
    target = Target(FakeBackend("fake"), "eager")
    run = report.build_report([target.backend], [report.result(target, "test_agreement::test_agrees_with_reference", "fail", "R3",
                                                               "differs", report_2018_example(), not_minimal=note)], "dev")
    assert f"  ({note})" in report.divergences_text(run).splitlines()
