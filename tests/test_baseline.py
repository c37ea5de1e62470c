"""The baseline of known divergence classes and the CI gate against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.gate.baseline import (
    FORMAT,
    BaselineError,
    baseline_from_report,
    gate,
    load_baseline,
    parse_baseline,
)
from conformance.records import AuditReport, BackendRun, DivergenceClass, Example

CLAMP = "binary_cross_entropy/float32/value/value_mismatch/x=0,y=1"
GRAD = "binary_cross_entropy/float32/grad_input/nan_mismatch/x=1,y=1"


def divergence(class_id: str, description: str) -> DivergenceClass:
    ex = Example(
        case={},
        quantity="value",
        element=[0],
        expected="100.0",
        expected_exact="100",
        got="inf",
        ulp=None,
        condition_error=None,
        reproducer=f"import torch\n# reproduces {class_id}\nprint('x')",
    )
    return DivergenceClass(
        class_id=class_id,
        function="binary_cross_entropy",
        dtype="float32",
        quantity="value",
        verdict="value_mismatch",
        regime="x=0,y=1",
        description=description,
        count=2,
        max_ulp=5.0,
        minimal=ex,
        worst=ex,
    )


def make_report(classes=(CLAMP,), paddle_status="completed", torch_version="2.13.0"):
    torch = BackendRun(
        "torch",
        torch_version,
        "cpu",
        "completed",
        cases=10,
        divergences=[divergence(c, f"description of {c}") for c in classes],
    )
    paddle = BackendRun(
        "paddle",
        "3.3.0",
        "cpu",
        paddle_status,
        message="" if paddle_status == "completed" else "worker died: SIGSEGV",
    )
    return AuditReport("0.1.0", "mpmath", "ci", 1, "2025-01-01", [torch, paddle])


def baseline_data(classes=(CLAMP,), paddle_classes=()):
    entry = {"explanation": "torch clamps log at -100 by design", "upstream": "pytorch#1"}
    return {
        "format": FORMAT,
        "backends": {
            "torch": {
                "version": "2.13.0",
                "device": "cpu",
                "classes": {c: dict(entry) for c in classes},
            },
            "paddle": {
                "version": "3.3.0",
                "device": "cpu",
                "classes": {c: {"explanation": "known crash"} for c in paddle_classes},
            },
        },
    }


def write(tmp_path, data) -> str:
    path = tmp_path / "baseline.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_new_class_exits_1_and_names_it(tmp_path):
    result = gate(
        make_report(classes=(CLAMP, GRAD)), load_baseline(write(tmp_path, baseline_data()))
    )
    assert result.exit_code == 1
    text = result.render()
    assert f"NEW {GRAD}: description of {GRAD}" in text
    assert f"# reproduces {GRAD}" in text and "FAIL (1 new" in text
    assert f"NEW {CLAMP}" not in text


def test_all_known_exits_0(tmp_path):
    result = gate(make_report(), load_baseline(write(tmp_path, baseline_data())))
    assert result.exit_code == 0
    assert result.backends[0].known == [CLAMP] and "PASS" in result.render()


def test_disappeared_class_is_listed_and_exits_0():
    result = gate(make_report(classes=()), parse_baseline(baseline_data(classes=(CLAMP, GRAD))))
    assert result.exit_code == 0
    assert [c for c, _ in result.backends[0].disappeared] == [CLAMP, GRAD]
    assert f"fixed upstream? {CLAMP}" in result.render()


def test_class_found_only_by_another_profile_is_not_listed_as_disappeared():
    data = baseline_data(classes=(CLAMP, GRAD))
    data["backends"]["torch"]["classes"][GRAD]["profiles"] = ["deep"]
    result = gate(make_report(classes=()), parse_baseline(data))  # a ci report
    assert result.exit_code == 0
    assert [c for c, _ in result.backends[0].disappeared] == [CLAMP]
    assert result.backends[0].other_profiles == [GRAD]
    assert "1 disappeared (1 more found only by other profiles)" in result.render()
    assert f"fixed upstream? {GRAD}" not in result.render()


def test_class_found_by_the_gated_profile_is_listed_as_disappeared():
    data = baseline_data(classes=(GRAD,))
    data["backends"]["torch"]["classes"][GRAD]["profiles"] = ["ci", "deep"]
    result = gate(make_report(classes=()), parse_baseline(data))
    assert [c for c, _ in result.backends[0].disappeared] == [GRAD]


def test_baseline_records_the_profiles_that_found_each_class():
    report = make_report(classes=(CLAMP,))
    data = baseline_from_report(
        report, {CLAMP: "clamp"}, profiles={f"torch::{CLAMP}": ["deep", "ci"]}
    )
    assert data["backends"]["torch"]["classes"][CLAMP]["profiles"] == ["ci", "deep"]


def test_removing_a_baseline_entry_fails_the_gate():
    data = baseline_data(classes=(CLAMP, GRAD))
    report = make_report(classes=(CLAMP, GRAD))
    assert gate(report, parse_baseline(data)).exit_code == 0
    del data["backends"]["torch"]["classes"][GRAD]
    result = gate(report, parse_baseline(data))
    assert result.exit_code == 1 and [n.class_id for n in result.backends[0].new] == [GRAD]


def test_crashed_backend_fails_unless_baselined():
    report = make_report(paddle_status="crashed")
    failed = gate(report, parse_baseline(baseline_data()))
    assert failed.exit_code == 1 and "NEW backend:crashed" in failed.render()
    assert "SIGSEGV" in failed.render()
    known = gate(report, parse_baseline(baseline_data(paddle_classes=("backend:crashed",))))
    assert known.exit_code == 0


def test_timeout_backend_needs_its_own_pseudo_class():
    report = make_report(paddle_status="timeout")
    baseline = parse_baseline(baseline_data(paddle_classes=("backend:crashed",)))
    assert gate(report, baseline).exit_code == 1
    assert (
        gate(report, parse_baseline(baseline_data(paddle_classes=("backend:timeout",)))).exit_code
        == 0
    )


def test_version_mismatch_is_a_warning_not_a_failure():
    result = gate(make_report(torch_version="2.14.0"), parse_baseline(baseline_data()))
    assert result.exit_code == 0
    assert (
        "warning: report has torch '2.14.0', the baseline was made with '2.13.0'" in result.render()
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not JSON"),
        ({"format": "other/1", "backends": {}}, "format: expected"),
        ({"format": FORMAT}, "missing key 'backends'"),
        ({"format": FORMAT, "backends": {}, "extra": 1}, "unknown key 'extra'"),
        ({"format": FORMAT, "backends": []}, "backends: must be an object"),
        (
            {"format": FORMAT, "backends": {"torch": {"version": 2, "classes": {}}}},
            "version: must be a string",
        ),
        (
            {"format": FORMAT, "backends": {"torch": {"version": "1", "classes": {"c": {}}}}},
            "missing key 'explanation'",
        ),
        (
            {
                "format": FORMAT,
                "backends": {"torch": {"version": "1", "classes": {"c": {"explanation": "  "}}}},
            },
            "explanation: must be a non-empty string",
        ),
        (
            {
                "format": FORMAT,
                "backends": {
                    "torch": {
                        "version": "1",
                        "classes": {"c": {"explanation": "ok", "upstream": 3}},
                    }
                },
            },
            "upstream: must be a string",
        ),
        (
            {
                "format": FORMAT,
                "backends": {"torch": {"version": "1", "classes": {}, "bogus": True}},
            },
            "unknown key 'bogus'",
        ),
        (
            {"format": FORMAT, "backends": {"torch": {"version": "1", "classes": {"c": "why"}}}},
            "must be an object with an 'explanation'",
        ),
        (
            {
                "format": FORMAT,
                "backends": {
                    "torch": {
                        "version": "1",
                        "classes": {"c": {"explanation": "ok", "profiles": "deep"}},
                    }
                },
            },
            "profiles: must be a list of profile names",
        ),
    ],
)
def test_malformed_baseline_raises_baseline_error(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_missing_baseline_file_raises_baseline_error(tmp_path):
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load_baseline(tmp_path / "absent.json")


def test_baseline_from_report_refuses_missing_explanation():
    report = make_report(classes=(CLAMP, GRAD))
    with pytest.raises(BaselineError, match=f"torch: {GRAD}"):
        baseline_from_report(report, {CLAMP: "clamp by design"})


def test_baseline_from_report_round_trips_through_the_gate():
    report = make_report(classes=(CLAMP, GRAD), paddle_status="crashed")
    data = baseline_from_report(
        report,
        {CLAMP: "clamp", GRAD: "grad", "backend:crashed": "segv"},
        upstream={GRAD: "https://example.invalid/issue/1"},
    )
    assert data["backends"]["paddle"]["classes"] == {"backend:crashed": {"explanation": "segv"}}
    assert gate(report, parse_baseline(data)).exit_code == 0


def test_the_published_identity_violations_are_not_expected_of_an_audit():
    """Only tests/harness/test_identities.py checks identities: a ci run that does not see them
    must not call them 'fixed upstream?'."""
    baseline = load_baseline(Path(__file__).resolve().parents[1] / "reports" / "baseline.json")
    result = gate(make_report(classes=()), baseline)  # a torch ci report
    disappeared = [c for c, _ in result.backends[0].disappeared]
    assert not [c for c in disappeared if c.startswith("identity/")]
    assert [c for c in result.backends[0].other_profiles if c.startswith("identity/")]


def _hunted(report, purposes, cells):
    from conformance.records import PurposeCount

    report.runs[0].purposes = [
        PurposeCount(f, d, p, 1, 1, 0, 1) for f, d in cells for p in purposes
    ]
    return report


def test_a_run_restricted_to_some_purposes_judges_no_baseline_class_not_seen():
    from conformance.hunt.purposes import PURPOSES

    report = _hunted(make_report(classes=()), PURPOSES[:2], [("binary_cross_entropy", "float32")])
    result = gate(report, parse_baseline(baseline_data(classes=(CLAMP, GRAD))))
    assert result.backends[0].disappeared == []
    assert result.backends[0].not_hunted == [CLAMP, GRAD]
    assert "(2 more in cells or purposes this run did not hunt: not judged)" in result.render()


def test_a_cell_hunted_with_every_purpose_still_reports_its_classes_not_seen():
    from conformance.hunt.purposes import PURPOSES

    report = _hunted(make_report(classes=()), PURPOSES, [("binary_cross_entropy", "float32")])
    result = gate(report, parse_baseline(baseline_data(classes=(CLAMP, GRAD))))
    assert [c for c, _ in result.backends[0].disappeared] == [CLAMP, GRAD]
