"""Reports are strict JSON: non-finite floats as strings, never bare NaN/Infinity tokens."""

import json
import math
from pathlib import Path

from conformance.records import ScanPoint
from conformance.report.report_json import load_json_report, report_to_json_text, write_json_report
from tests.report.test_reports import make_report

REPORTS = sorted(Path(__file__).resolve().parents[2].joinpath("reports").rglob("*.json"))


def strict_loads(text: str):
    def refuse(token: str):
        raise ValueError(f"bare {token} token")

    return json.loads(text, parse_constant=refuse)


def with_infinite_scan_point():
    report = make_report()
    report.runs[0].scan.append(
        ScanPoint(
            "binary_cross_entropy_with_logits", "float32", math.inf, math.nan, None, "conforms"
        )
    )
    return report


def test_written_report_has_no_bare_nan_or_infinity_token():
    data = strict_loads(report_to_json_text(with_infinite_scan_point()))
    assert data["runs"][0]["scan"][-1]["x"] == "inf" and data["runs"][0]["scan"][-1]["y"] == "nan"


def test_non_finite_floats_round_trip(tmp_path):
    report = with_infinite_scan_point()
    loaded = load_json_report(write_json_report(report, tmp_path / "r.json"))
    point = loaded.runs[0].scan[-1]
    assert point.x == math.inf and math.isnan(point.y)


def test_an_older_report_with_bare_tokens_still_loads(tmp_path):
    data = with_infinite_scan_point().to_json()
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))  # Python writes Infinity / NaN
    assert load_json_report(path).runs[0].scan[-1].x == math.inf


def test_every_published_report_parses_as_strict_json():
    for path in REPORTS:
        strict_loads(path.read_text())
