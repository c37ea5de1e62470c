"""Reports (JSON + schema, Markdown, HTML, atomic files) rendered from a hand-built AuditReport."""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import replace

import pytest

from conformance.records import (
    AuditReport,
    BackendRun,
    DivergenceClass,
    Example,
    ScanPoint,
    ScanSeries,
    VerdictCount,
)
from conformance.report import report_files, report_html
from conformance.report.report_files import ReportWriteError, write_reports
from conformance.report.report_json import (
    ReportValidationError,
    load_json_report,
    validate_report,
    write_json_report,
)
from conformance.report.report_markdown import render_markdown

REPRO = "import torch\nx = torch.tensor([0.0])\ny = torch.tensor([1.0])\nprint(torch.nn.functional.binary_cross_entropy(x, y))"


def array(values: list[float], dtype: str = "float32") -> dict:
    return {
        "dtype": dtype,
        "shape": [len(values)],
        "hex": ["00000000"] * len(values),
        "values": values,
    }


def example(x: float, got: str, ulp: float | None) -> Example:
    case = {
        "function": "binary_cross_entropy",
        "dtype": "float32",
        "input": array([x]),
        "target": array([1.0]),
        "weight": None,
        "reduction": "none",
    }
    return Example(
        case=case,
        quantity="value",
        element=[0],
        expected="100.0",
        expected_exact="100.000000000000000000000000000",
        got=got,
        ulp=ulp,
        condition_error=None,
        reproducer=REPRO,
    )


def make_report() -> AuditReport:
    cls = DivergenceClass(
        class_id="binary_cross_entropy/float32/value/value_mismatch/x=0,y=1",
        function="binary_cross_entropy",
        dtype="float32",
        quantity="value",
        verdict="value_mismatch",
        regime="x=0,y=1",
        description="clamp of log at -100 <script>alert(1)</script>",
        count=3,
        max_ulp=12.0,
        minimal=example(0.0, "99.5", 4.0),
        worst=example(1e-45, "98.0", 12.0),
    )
    scan = [
        ScanPoint(f, "float32", x, y, ulp, verdict)
        for f, xs in (
            ("binary_cross_entropy", [0.1, 0.5, 0.9]),
            ("binary_cross_entropy_with_logits", [-50.0, 0.0, 50.0]),
        )
        for x in xs
        for y in (0.0, 1.0)
        for ulp, verdict in [((0.0, "conforms") if x != 0.9 else (7.0, "value_mismatch"))]
    ]
    scan.append(ScanPoint("binary_cross_entropy", "float32", 0.0, 1.0, None, "nan_mismatch"))
    xs, ys = [0.0, 1e-30, 0.5, 0.999, 1.0] * 2, [0.0] * 5 + [0.5] * 5
    scans = [
        ScanSeries(
            "binary_cross_entropy",
            "float32",
            "grad_input",
            x=xs,
            y=ys,
            verdict=["conforms"] * 8 + ["value_mismatch", "nan_mismatch"],
            ulp=[0.0] * 8 + [7.0, None],
            relative_error=[0.0] * 7 + [1e-7, 1e-6, None],
            got_special=[""] * 9 + ["nan"],
            expected_special=[""] * 10,
        ),  # fmt: skip
        ScanSeries("binary_cross_entropy", "float16", "value", note="unsupported: no kernel"),
    ]
    torch = BackendRun(
        backend="torch",
        version="2.13.0",
        device="cpu",
        status="completed",
        cases=40,
        seconds=1.5,
        counts=[
            VerdictCount("binary_cross_entropy", "float32", "value", "conforms", 37, 0.5),
            VerdictCount("binary_cross_entropy", "float32", "value", "value_mismatch", 3, 12.0),
        ],
        divergences=[cls],
        scan=scan,
        scans=scans,
    )
    paddle = BackendRun(
        backend="paddle",
        version="3.3.0",
        device="cpu",
        status="crashed",
        message="worker died: signal 11 (SIGSEGV)",
    )
    return AuditReport(
        tool_version="0.1.0",
        oracle="mpmath 1.3.0",
        profile="ci",
        seed=1234,
        created="2025-01-01T00:00:00Z",
        runs=[torch, paddle],
    )


def test_json_validates_against_schema():
    validate_report(make_report().to_json())


def test_schema_rejects_unknown_verdict_with_clear_message():
    data = make_report().to_json()
    data["runs"][0]["counts"][0]["verdict"] = "almost"
    with pytest.raises(ReportValidationError, match=r"runs\[0\]\.counts\[0\]\.verdict"):
        validate_report(data)


def test_schema_rejects_unknown_field():
    data = copy.deepcopy(make_report().to_json())
    data["runs"][1]["extra"] = 1
    with pytest.raises(ReportValidationError, match="extra"):
        validate_report(data)


def test_load_json_report_round_trips(tmp_path):
    report = make_report()
    path = write_json_report(report, tmp_path / "audit.json")
    assert load_json_report(path) == report


def test_load_json_report_rejects_non_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ReportValidationError, match="not JSON"):
        load_json_report(path)


def test_markdown_has_summary_table():
    report = make_report()
    report.runs[0].divergences[0].tier = "defect"
    md = render_markdown(report)
    header = "| backend | function | dtype | cases | divergence classes (tiers) | conforms |"
    assert header in md
    assert "| torch | `binary_cross_entropy` | `float32` | 40 | 1: defect | 37 | 3 |" in md
    assert "nan_mismatch |" not in md.split("## Summary")[1].split("\n\n")[1].splitlines()[0]


def test_markdown_reproducer_prints_the_element_and_the_expected_value():
    md = render_markdown(make_report())
    block = md.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert "print('input[i] =    ', repr(input[i].item()))" in block
    assert "expected = '100.0'" in block and "print('agrees:', repr(got) == expected)" in block


def test_markdown_shows_crashed_backend():
    md = render_markdown(make_report())
    assert "**paddle** 3.3.0" in md and "**CRASHED**" in md and "SIGSEGV" in md
    assert "| paddle | ***crashed*** |" in md


def with_cause(report: AuditReport, cause: str, mechanism: str) -> AuditReport:
    for cls in report.runs[0].divergences:
        cls.cause, cls.mechanism = cause, mechanism
    return report


def test_markdown_escapes_html_in_mechanism():
    md = render_markdown(with_cause(make_report(), "c", "log <script>alert(1)</script>"))
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_markdown_lists_every_class_and_folds_long_groups():
    report = make_report()
    first = report.runs[0].divergences[0]
    report.runs[0].divergences = [replace(first, class_id=f"c{i}") for i in range(12)]
    md = render_markdown(report, collapse_after=8)
    assert all(f"`c{i}`" in md for i in range(12))
    assert "<details><summary>12 classes</summary>" in md


def test_markdown_leads_with_causes_unexplained_first():
    report = make_report()
    first = report.runs[0].divergences[0]
    report.runs[0].divergences = [
        replace(first, class_id="a", cause="some-cause", mechanism="m", count=50),
        replace(first, class_id="b", cause="unexplained", count=1),
    ]
    md = render_markdown(report)
    causes = md.split("## Causes", 1)[1].split("## Summary", 1)[0]
    rows = [line for line in causes.splitlines() if line.startswith("| [")]
    assert "`unexplained`" in rows[0] and "`some-cause`" in rows[1]


def test_markdown_groups_records_without_a_cause():
    md = render_markdown(make_report())  # records as older reports wrote them: no cause
    assert "`no cause recorded`" in md.split("## Summary", 1)[0]


def test_html_embeds_png_plots():
    html = report_html.render_html(make_report())
    assert '<img src="data:image/png;base64,' in html
    assert html.count("<img ") == 1  # the one series with points
    assert "float16: no plot, unsupported: no kernel" in html  # a line, not an empty panel


def test_html_is_the_same_bytes_for_the_same_report():
    assert report_html.render_html(make_report()) == report_html.render_html(make_report())


def test_html_escapes_script_in_mechanism():
    html = report_html.render_html(with_cause(make_report(), "c", "<script>alert(1)</script>"))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_folds_long_groups_and_shows_crashed_backend():
    report = make_report()
    first = report.runs[0].divergences[0]
    report.runs[0].divergences = [replace(first, class_id=f"c{i}") for i in range(12)]
    html = report_html.render_html(report)
    assert "<details><summary>12 classes</summary>" in html
    assert "<pre>import torch" in html and "crashed" in html


def test_html_without_matplotlib_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    html = report_html.render_html(make_report())
    assert "<img " not in html and "matplotlib is not installed" in html


def test_write_reports_writes_three_files(tmp_path):
    paths = write_reports(make_report(), tmp_path, "audit")
    assert sorted(paths) == ["html", "json", "md"]
    assert json.loads(paths["json"].read_text())["seed"] == 1234
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_atomic_write_keeps_old_file_when_rendering_raises(tmp_path, monkeypatch):
    write_reports(make_report(), tmp_path, "audit")
    old_html = (tmp_path / "audit.html").read_text()

    def boom(report):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(report_html, "render_html", boom)
    report = make_report()
    report.seed = 99
    with pytest.raises(ReportWriteError, match="renderer exploded") as info:
        write_reports(report, tmp_path, "audit")
    assert (tmp_path / "audit.html").read_text() == old_html
    assert set(info.value.written) == {"json", "md"} and set(info.value.errors) == {"html"}
    assert json.loads((tmp_path / "audit.json").read_text())["seed"] == 99  # JSON still written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_write_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "audit.md"
    target.write_text("old")

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(report_files.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        report_files.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.md"]
