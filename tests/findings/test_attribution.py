"""Attribution by mechanism on the published deep reports, its control, and its refusals."""

from pathlib import Path

import pytest

from conformance.findings import attach_causes, attribute
from conformance.findings.causes import UNEXPLAINED
from conformance.findings.explain import main as explain
from conformance.report.report_json import load_json_report
from tests.findings.helpers import one_element_class

REPORTS = sorted(Path(__file__).resolve().parents[2].joinpath("reports").glob("*-deep.json"))
LOGITS = "binary_cross_entropy_with_logits"


@pytest.fixture(scope="module", params=REPORTS, ids=lambda p: p.stem)
def report(request):
    return load_json_report(request.param), request.param


@pytest.fixture(scope="module")
def attributed(report):
    """The report with every class attributed, once per report (attribution is the slow part)."""
    data, _ = report
    return attach_causes(data)


def test_every_deep_class_is_explained_or_listed_as_unexplained(report, attributed, capsys):
    _, path = report
    assert explain([str(path)]) == 0
    out = capsys.readouterr().out
    for run in attributed.runs:
        unexplained = [c.class_id for c in run.divergences if c.cause == UNEXPLAINED]
        explained = len(run.divergences) - len(unexplained)
        assert f"{run.backend}: {explained} of {len(run.divergences)} classes explained" in out
        assert all(f"         {class_id}\n" in out for class_id in unexplained)


def test_control_one_ulp_away_explains_no_class(report, capsys):
    _, path = report
    assert explain([str(path), "--control"]) == 0
    assert all(
        line.split(":")[1].strip().startswith("0 of")
        for line in capsys.readouterr().out.splitlines()
        if "classes explained" in line
    )


def test_attach_causes_writes_cause_and_evidence_onto_every_record(attributed):
    for run in attributed.runs:
        for cls in run.divergences:
            assert cls.cause and cls.evidence
            assert not cls.evidence.startswith("attribution failed"), cls.evidence
            assert (
                cls.cause == UNEXPLAINED or "bit for bit" in cls.evidence or "probe" in cls.evidence
            )


def test_paddle_x_zero_gradient_classes_are_the_zero_branch_cause():
    paddle = load_json_report(next(p for p in REPORTS if p.stem == "paddle-deep")).runs[0]
    zero = [
        c
        for c in paddle.divergences
        if c.function == LOGITS and c.quantity == "grad_input" and c.regime.startswith("x=0,")
    ]
    assert zero and all(
        attribute(paddle, c).cause_id == "logits-grad-input-zero-branch" for c in zero
    )


def test_a_correct_output_is_not_attributed_to_the_flawed_formula():
    right = one_element_class(LOGITS, "grad_input", "float64", "0.5", x=0.0, y=0.0)
    assert attribute("paddle", right).cause_id == UNEXPLAINED


def test_the_flawed_output_is_attributed_with_its_evidence():
    wrong = one_element_class(LOGITS, "grad_input", "float64", "-0.5", x=0.0, y=0.0)
    a = attribute("paddle", wrong)
    assert a.cause_id == "logits-grad-input-zero-branch"
    assert a.evidence.startswith("reproduced bit for bit on 1 of 1 example(s)")
    assert "sigmoid_cross_entropy_with_logits_grad_kernel.cc" in a.source


def test_a_probe_needs_the_backend_to_have_returned_a_value():
    cls = one_element_class(
        "binary_cross_entropy", "value", "float32", "", x=0.5, y=-0.5, verdict="did_not_raise"
    )
    assert attribute("paddle", cls).cause_id == "target-range-unchecked"
    assert attribute("paddle", cls, control=True).cause_id == UNEXPLAINED


def test_explain_reports_a_missing_file_in_one_line_with_exit_2(tmp_path, capsys):
    assert explain([str(tmp_path / "missing.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
