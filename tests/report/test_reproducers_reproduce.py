"""Every class's reproducer in the published deep reports runs and shows the recorded divergence.

Slow (it runs the frameworks): ``pytest -m slow tests/report/test_reproducers_reproduce.py``.
"""

import contextlib
import io
import warnings
from pathlib import Path

import pytest

from conformance.findings import attach_causes
from conformance.report.by_cause import element_reproducer
from conformance.report.report_json import load_json_report

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def run(snippet: str) -> str:
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        exec(snippet, {})
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_each_reproducer_prints_the_recorded_output_and_disagrees(backend):
    pytest.importorskip(backend)
    report = attach_causes(load_json_report(REPORTS / f"{backend}-deep.json"))
    failures, ran = [], 0
    for run_ in report.runs:
        for cls in run_.divergences:
            if cls.minimal.case.get("recipe") is not None:
                continue  # a large case: its reproducer is a `replay` of the recipe (shell)
            text = run(element_reproducer(run_.backend, run_.device, cls))
            ran += 1
            if cls.verdict == "did_not_raise":
                ok = "returned instead of raising" in text
            elif cls.verdict == "dtype_mismatch":  # got: "bfloat16[]", the dtype and shape
                ok = f"dtype and shape: {backend}.{cls.minimal.got.split('[')[0]}" in text
            else:
                got = [
                    line.split("=", 1)[1].strip()
                    for line in text.splitlines()
                    if line.startswith("got =")
                ]
                ok = "agrees: False" in text and got == [cls.minimal.got]
            if not ok:
                failures.append(cls.class_id)
    assert ran and not failures
