"""JAX causes: the labels-broadcast probe on hand-built records and on the published jax-ci
report, with its control. (The numeric classes of jax have no model yet.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conformance.cases import Case
from conformance.findings import attribute
from conformance.findings.causes import UNEXPLAINED, target_shape_differs
from conformance.records import Example

LOGITS = "binary_cross_entropy_with_logits"
REPORT = Path(__file__).resolve().parents[2] / "reports" / "ci" / "jax-ci.json"


def _example(input_shape, target_shape) -> Example:
    case = Case(
        function=LOGITS,
        dtype="float32",
        reduction="none",
        input=np.full(input_shape, 0.5, dtype=np.float32),
        target=np.full(target_shape, 0.5, dtype=np.float32),
    )
    return Example(case.to_json(), "value", None, "", "", "returned", None, None, "")


def test_probe_holds_for_two_labels_against_one_logit():
    assert target_shape_differs(_example((1,), (2,)))


def test_probe_fails_for_labels_of_the_logits_shape():
    assert not target_shape_differs(_example((2,), (2,)))


@pytest.fixture(scope="module")
def jax_run():
    if not REPORT.exists():
        pytest.skip("no published jax report")
    from conformance.report.report_json import load_json_report

    return load_json_report(str(REPORT)).runs[0]


def test_report_target_shape_classes_explained_and_not_under_control(jax_run):
    classes = [c for c in jax_run.divergences if "OracleShapeError:target" in c.class_id]
    assert classes
    for cls in classes:
        assert attribute("jax", cls).cause_id == "optax-labels-broadcast-unchecked"
        assert attribute("jax", cls, control=True).cause_id == UNEXPLAINED
