"""The results model (conformance/results/results.py) and the outputs rendered from it: built
from fake targets, no backend runs."""

import re
from pathlib import Path

from cells.catalog import report_2018_example
from conformance.results import matrix
from conformance.results import report
from conformance.results.areas import AREA_IDS, AREAS
from conformance.judge.targets import Target
from fake_backends import FakeBackend

AGREEMENT = "test_agreement::test_agrees_with_reference"
SHAPES = "test_structure::test_shapes_and_dtypes"
MASK_FORMATS = "test_masking::test_mask_formats_agree"
# Every rule heading of the contract ("### L8. ..."): a new rule needs an area.
CONTRACT_RULES = re.findall(r"^### ([RGL]\d+)\. ", (Path(__file__).resolve().parents[2] / "CONTRACT.md").read_text(), re.M)


def run_report(*results_of, backends=None):
    backends = backends or sorted({r["backend"] for r in results_of})
    return report.build_report([b if isinstance(b, FakeBackend) else FakeBackend(b) for b in backends], list(results_of), "ci")


def target(name="fake", mode="eager"):
    return Target(FakeBackend(name), mode)


def row_cells(report_, label="fake [eager]"):
    """{column: cell} of one row of the Markdown matrix."""
    lines = report.matrix_markdown(report_).splitlines()
    (first,) = [line for line in lines if line.startswith("| backend [mode] |")]  # (under the code it ran)
    header = [c.strip() for c in first.strip("|").split("|")]
    (row,) = [line for line in lines if line.startswith(f"| `{label}` |")]
    return dict(zip(header, (c.strip() for c in row.strip("|").split("|"))))


def test_every_rule_has_one_area_and_only_r1_r2_are_placed_by_their_example():
    from conformance.results.areas import RULE_AREAS, SPLIT_RULES

    assert set(RULE_AREAS.values()) <= set(AREA_IDS)
    assert set(SPLIT_RULES) == {"R1", "R2"}
    assert len(CONTRACT_RULES) >= 26  # R1-R14, G1-G4, L1-L8 at least: the parse found them
    assert sorted(RULE_AREAS) == sorted(CONTRACT_RULES)


def test_one_masking_bug_is_shown_in_its_rules_area_whatever_its_minimal_example():
    """An R4 failure whose minimal example is time-major, runs backwards or zeroes masked
    outputs is a masking bug: mask-out, not t-major, backwards or zero-out."""
    examples = [report_2018_example(time_major=True), report_2018_example(go_backwards=True),
                report_2018_example(zero_output_for_mask=True), report_2018_example(return_all_outputs=False)]
    failures = [report.result(target(), AGREEMENT, "fail", "R4", "differs", e) for e in examples]
    cells = row_cells(run_report(*failures))
    assert cells["mask-out"] == "DIVERGES"
    assert [area for area in AREA_IDS if cells[area] == "DIVERGES"] == ["mask-out"]


def test_r1_and_r2_alone_are_placed_by_the_option_their_minimal_example_needs():
    assert report.result(target(), AGREEMENT, "fail", "R1", "", report_2018_example(time_major=True))["areas"] == ["t-major"]
    assert report.result(target(), AGREEMENT, "fail", "R1", "", report_2018_example())["areas"] == ["core"]
    assert report.result(target(), AGREEMENT, "fail", "R3", "", report_2018_example(time_major=True))["areas"] == ["mask-state"]


def test_areas_that_ran_show_their_result_and_only_areas_where_nothing_ran_show_a_dash():
    """The agreement property failed (R3): its other areas ran until it stopped (partial),
    an area a passing property covers is ok, the layer areas ran nothing (-)."""
    cells = row_cells(run_report(
        report.result(target(), AGREEMENT, "fail", "R3", "differs", report_2018_example()),
        report.result(target(), SHAPES, "pass"),
    ))
    assert cells["mask-state"] == "DIVERGES"
    assert cells["edge"] == cells["backwards"] == "partial"  # covered by the failed property only
    assert cells["core"] == cells["nested"] == "ok"  # the shapes property passed there
    assert cells["layer"] == cells["routes"] == "-"


def test_an_area_whose_property_passed_shows_ok_even_if_another_property_failed():
    cells = row_cells(run_report(
        report.result(target(), MASK_FORMATS, "pass"),
        report.result(target(), AGREEMENT, "fail", "R7", "differs", report_2018_example()),
    ))
    assert (cells["mask-out"], cells["mask-state"], cells["ret-all"]) == ("ok", "ok", "DIVERGES")


def test_a_failure_without_a_rule_is_unclassified_in_core_and_keeps_its_case():
    failure = report.result(target(), AGREEMENT, "fail", None, "ValueError: cannot compare", case="c.json", reproducer="c.py")
    assert (failure["rule"], failure["areas"]) == ("unclassified", ["core"])
    the_report = run_report(failure)
    assert row_cells(the_report)["core"] == "DIVERGES"
    text = report.divergences_text(the_report)
    assert "DIVERGES [unclassified] ValueError: cannot compare" in text and "[None]" not in text
    assert "reproducer: c.py" in text and "case: c.json" in text


def test_one_vocabulary_in_the_terminal_the_markdown_the_json_and_the_readme_table():
    the_report = run_report(
        report.result(target("good"), AGREEMENT, "pass"),
        report.result(target("bad"), AGREEMENT, "fail", "R3", "differs", report_2018_example(), case="bad.json"),
        report.result(target("declared"), AGREEMENT, "pass"),
        report.result(target("declared"), AGREEMENT, "known", "R4", "differs", report_2018_example(), known_divergence="e1",
                      case="e1.json", excused=3),
    )
    terminal = report.matrix_text(the_report).splitlines()
    markdown = [line for line in report.matrix_markdown(the_report).splitlines() if line.startswith("| `")]
    table = matrix.readme_table(the_report).splitlines()[2:]
    statuses = {b["name"]: b["status"] for b in the_report["backends"]}
    assert statuses == {"good": "conforms", "bad": "diverges", "declared": "diverges"}
    for name, status in statuses.items():
        (line,) = [t for t in terminal if t.startswith(f"{name} [eager]")]
        (md,) = [m for m in markdown if m.startswith(f"| `{name} [eager]`")]
        (readme,) = [r for r in table if r.startswith(f"| `{name}` |")]
        words = line.split()[2:]  # after the label (two words)
        assert words[0] == status and md.split(" | ")[1] == status
        assert md.split(" | ")[2:] == words[1:-1] + [words[-1] + " |"]  # the same cells
        assert readme.split(" | ")[3].split(":")[0] == status
    assert "conforms" not in " ".join(line.split(" | ", 2)[2] for line in markdown)  # cells say ok
    by_backend = {line.split(" | ")[0]: line for line in table}
    assert "| diverges: DIVERGES [R3](bad.json) |" in by_backend["| `bad`"]
    assert "| diverges: known R4 |" in by_backend["| `declared`"] and "[e1](e1.json)" in by_backend["| `declared`"]


def test_every_rendering_of_one_view_reads_rows_derived_once(monkeypatch, tmp_path):
    """The terminal, Markdown, JSON and --matrix renderings of a ReportView derive the rows,
    the uncallable backends and the matched entries once between them (issue 38)."""
    from conformance.results import results as model

    calls = {"rows": 0, "uncallable": 0, "matched_known": 0}
    for name in calls:
        def counted(*args, _name=name, _original=getattr(model, name)):
            calls[_name] += 1
            return _original(*args)
        monkeypatch.setattr(model, name, counted)
    the_report = run_report(
        report.result(target("bad"), AGREEMENT, "fail", "R3", "differs", report_2018_example(), case="bad.json"),
        report.result(target("declared"), AGREEMENT, "known", "R4", "differs", report_2018_example(), known_divergence="e1",
                      case="e1.json", excused=3),
    )
    view = model.ReportView(the_report)
    report.matrix_text(view), report.matrix_markdown(view), report.divergences_text(view), report.summary_text(view)
    report.write_json(view, tmp_path / "r.json"), matrix.write_readme_table(view, tmp_path / "m.md")
    assert calls == {"rows": 1, "uncallable": 2, "matched_known": 1}  # uncallable: once per backend
    assert report.matrix_text(the_report) == report.matrix_text(view)  # a plain report renders the same


def test_the_legend_is_two_lines_and_the_areas_in_full_are_in_the_markdown_only():
    the_report = run_report(report.result(target(), AGREEMENT, "pass"))
    legend = report.matrix_text(the_report).rsplit("\n\n", 1)[1].splitlines()
    assert len(legend) <= 2
    description = dict(AREAS)["mask-state"]
    assert description not in report.matrix_text(the_report)
    assert all(text in report.matrix_markdown(the_report) for _, text in AREAS)


def test_a_backend_that_cannot_be_called_is_said_once():
    crash = "CRASH: TypeError: rnn() got an unexpected keyword argument 'unroll'"
    properties = [AGREEMENT, SHAPES, MASK_FORMATS]
    the_report = run_report(*[report.result(target("impl:m:f"), p, "crash", "R2", crash, report_2018_example()) for p in properties])
    text = report.divergences_text(the_report)
    assert text.splitlines() == [
        "impl:m:f: cannot call the implementation: TypeError: rnn() got an unexpected keyword argument 'unroll' "
        "(3 properties crashed so; the JSON report has each)"
    ]
    assert "impl:m:f: cannot call the implementation" in report.verdict_line(the_report)
    assert len(the_report["backends"][0]["results"]) == 3


def test_crashes_that_differ_are_each_shown():
    the_report = run_report(
        report.result(target(), AGREEMENT, "crash", "R2", "CRASH: TypeError: a", report_2018_example()),
        report.result(target(), SHAPES, "crash", "R13", "CRASH: ValueError: b", report_2018_example()),
    )
    text = report.divergences_text(the_report)
    assert "cannot call" not in text and "CRASH [R2]" in text and "CRASH [R13]" in text
