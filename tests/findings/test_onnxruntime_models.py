"""The ONNX Runtime model (conformance.findings.onnx_models): MLAS's logistic against ONNX Runtime
itself, hand-derived outputs of the exported graph, and the causes on the published
onnxruntime-ci report with its control. Nothing here is an expected value of the oracle."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conformance.findings import attribute
from conformance.findings import onnx_models as ox
from conformance.findings.arithmetic import same_bits
from conformance.findings.causes import UNEXPLAINED
from tests.findings.helpers import gathered, one_element_class

LOGITS = "binary_cross_entropy_with_logits"
REPORT = Path(__file__).resolve().parents[2] / "reports" / "ci" / "onnxruntime-ci.json"
QUANTUM = 2.0**-25  # the spacing of 0.5 + p/q just below 0.5


def _value(dtype, x, y, w=None, p=None):
    return ox.ort_logits_value(gathered(LOGITS, "value", dtype, x, y, w, p))


def test_mlas_logistic_is_zero_below_its_clamp():
    # x = -20 is clamped to -18, where 0.5 + p/q rounds below 0 and the output clamp gives 0
    assert ox.mlas_logistic(np.float32(-20)) == 0


def test_mlas_logistic_is_one_above_its_clamp():
    assert ox.mlas_logistic(np.float32(20)) == 1


def test_mlas_logistic_is_a_multiple_of_two_to_minus_25_below_minus_ten():
    # the logistic at -12 is 6.144e-6 = 206.16 quanta; MLAS returns 205 quanta exactly
    assert float(ox.mlas_logistic(np.float32(-12))) == 205 * QUANTUM


def test_mlas_logistic_matches_onnxruntime_bit_for_bit():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    node = helper.make_node("Sigmoid", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    xs = np.random.default_rng(0).normal(0, 8, 300).astype(np.float32)
    (got,) = session.run(None, {"x": xs})
    assert all(same_bits(ox.mlas_logistic(x), g) for x, g in zip(xs, got))


def test_float64_sigmoid_one_minus_cancels_to_zero_at_minus_40():
    # 1/(1 + e^-40) rounds to 1 (e^-40 = 4e-18 < 2**-53), so 1 - 1/(1 + e^-40) is 0
    assert all(s == 0 for s in ox.sigmoid_double(np.float64(-40)))


def test_float16_graph_runs_in_float32_with_mlas_sigmoid():
    # x = -17.02 (float16 -17.015625), y = 1: MLAS's Sigmoid is 3 quanta of 2**-25 (the
    # logistic is 1.36 quanta), so the loss is w*p*(-log(3*2**-25)) = 0.3164*0.276*16.23 =
    # 1.4167 in float32, rounded once to float16: 1.417 (the report's output)
    w, p = np.float16(0.3164), np.float16(0.276)
    expected = np.float16(np.float32(w) * np.float32(p) * np.float32(-math.log(3 * QUANTUM)))
    got = _value("float16", -17.02, 1.0, 0.3164, 0.276)
    assert got.dtype == np.float16 and same_bits(got, expected)


def test_sigmoid_of_20_is_one_so_the_loss_at_y_0_is_infinite():
    # 1 - Sigmoid(20) = 0 and log 0 = -inf: -(1 - y)*log(0) = inf
    assert _value("float32", 20.0, 0.0) == np.inf


def test_sigmoid_of_20_is_one_so_the_loss_at_y_1_is_nan():
    # (1 - y)*log(1 - Sigmoid(20)) = 0 * -inf = NaN
    assert np.isnan(_value("float32", 20.0, 1.0))


def test_empty_mean_is_zero():
    g = gathered(LOGITS, "value", "float32", 0.0, 0.0, reduction="mean")
    empty = g.__class__(**{**g.__dict__, "elements": (), "numel": 0})
    assert same_bits(ox.ort_logits_value(empty), np.float32(0))


def test_model_refuses_where_the_logs_last_bits_decide():
    # x = 1.5, y = 0.3 in float32: no cancellation to speak of, and Eigen's log within 2 ulp
    # leaves the last bit of the loss open
    assert _value("float32", 1.5, 0.3) is None


def test_infinite_loss_at_sigmoid_one_is_the_exported_graph():
    cls = one_element_class(LOGITS, "value", "float32", "inf", x=20.0, y=0.0, verdict="inf")
    assert attribute("onnxruntime", cls).cause_id == "onnx-export-log-one-minus-sigmoid"


def test_infinite_loss_at_x_minus_20_is_mlas_logistic():
    # MLAS's Sigmoid(-20) is 0 where the logistic is 2.1e-9: the repaired Sigmoid is finite
    cls = one_element_class(LOGITS, "value", "float32", "inf", x=-20.0, y=1.0, verdict="inf")
    assert attribute("onnxruntime", cls).cause_id == "ort-mlas-logistic-clamped"


def test_a_perturbed_output_is_not_explained():
    big = str(float(np.finfo(np.float32).max))  # inf moved one ulp: the control's output
    cls = one_element_class(LOGITS, "value", "float32", big, x=20.0, y=0.0)
    assert attribute("onnxruntime", cls).cause_id == UNEXPLAINED


def test_perturbed_float16_output_is_not_explained():
    w, p = np.float16(0.3164), np.float16(0.276)
    right = np.float16(np.float32(w) * np.float32(p) * np.float32(-math.log(3 * QUANTUM)))
    kw = {"x": -17.02, "y": 1.0, "w": 0.3164, "p": 0.276}
    cls = one_element_class(LOGITS, "value", "float16", repr(float(right)), **kw)
    assert attribute("onnxruntime", cls).cause_id == "ort-mlas-logistic-clamped"
    moved = np.nextafter(right, np.float16(np.inf))
    cls = one_element_class(LOGITS, "value", "float16", repr(float(moved)), **kw)
    assert attribute("onnxruntime", cls).cause_id == UNEXPLAINED


@pytest.fixture(scope="module")
def report_run():
    if not REPORT.exists():
        pytest.skip("no published onnxruntime report")
    from conformance.report.report_json import load_json_report

    return load_json_report(str(REPORT)).runs[0]


def test_report_classes_explained_and_control_explains_none(report_run):
    explained = [c for c in report_run.divergences if attribute("onnxruntime", c).explained]
    control = [
        c for c in report_run.divergences if attribute("onnxruntime", c, control=True).explained
    ]
    assert len(explained) >= 200
    assert control == []
