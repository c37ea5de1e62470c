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


# ------------------------------------------------------------------ the XLA kernel model
# Hand derivations use bfloat16's grid: 8 significant bits, so the ulp is 2**-8 in [0.5, 1),
# 2**-7 in [1, 2), 2**-5 in [4, 8).

from conformance.findings import xla_models as xm  # noqa: E402
from conformance.findings.arithmetic import next_after, same_bits  # noqa: E402
from conformance.findings.elements import Element, Gathered  # noqa: E402

from .helpers import gathered, one_element_class, scalar  # noqa: E402


def test_bfloat16_target_gradient_cancels_to_zero():
    # x = -0.00128936767578125: exp(-|x|) = 0.99871 rounds to 1, log1p(1) = 0.693147 rounds to
    # 177/256; softplus(-x) = 177/256 + 0.00129 rounds back to 177/256 = softplus(x): 0 - 0.
    g = gathered(LOGITS, "grad_target", "bfloat16", -0.00128936767578125, 0.5)
    assert float(xm.xla_value(g)) == 0.0
    assert float(xm.exact_target_gradient(g)) == 0.00128936767578125


def test_bfloat16_nan_label_target_gradient_is_minus_x():
    # exp(-1.0625) -> 177/512, log1p -> 152/512 = 0.296875; softplus(x) = 1.0625 + 0.296875
    # = 1.359375 exactly: 0.296875 - 1.359375 = -1.0625, the label never read
    g = gathered(LOGITS, "grad_target", "bfloat16", 1.0625, float("nan"))
    assert float(xm.xla_value(g)) == -1.0625


def test_float32_loss_flushed_to_zero_at_minus_89():
    # y = 0: the loss is softplus(-89)... = log1p(exp(-89)) = 2.2e-39, a subnormal: exp flushes
    g = gathered(LOGITS, "value", "float32", -89.0, 0.0)
    assert float(xm.xla_value(g)) == 0.0
    kept = xm.xla_outcomes(g, xm.Variant(ftz=False))  # the subnormal, within log1p's bound
    assert 2.2e-39 < float(kept.low) <= float(kept.high) < 2.3e-39


def test_bfloat16_infinite_logit_with_label_one_is_nan():
    # softplus(+inf) = inf, so (1 - y) * log_sigmoid(-x) = 0 * -inf
    g = gathered(LOGITS, "value", "bfloat16", float("inf"), 1.0)
    assert np.isnan(float(xm.xla_value(g)))
    assert float(xm.xla_outcomes(g, xm.Variant(zero_times_inf=0.0)).single()) == 0.0


def test_labels_rounded_into_bfloat16_logits_dtype():
    # y = 0.91599... -> 234/256 = 0.9140625; softplus(-x) = log1p(exp(-7.1875)) -> 198 * 2**-18,
    # softplus(x) -> 7.1875; -(1 - y)*softplus(x) = -0.6176... -> -158/256; the sum 0.61788
    # rounds to 158/256 = 0.6171875
    e = Element(scalar(7.1875, "bfloat16"), np.float64(0.9159920570157604), None, None)
    g = Gathered(LOGITS, "bfloat16", "value", "none", (e,), 1, False, (("target", "float64"),))
    assert xm.labels_rounded(g)
    assert float(xm.xla_value(g)) == 0.6171875


def test_float32_exp_of_zero_is_exact_and_log1p_is_bounded():
    assert [float(v) for v in xm.xla_exp(np.float32(0))] == [1.0]
    assert len(xm.xla_log1p(np.float32(1))) == 5  # log 2 within 2.5 ulp: five floats


def test_model_declines_where_log1p_last_bits_decide():
    # x = 0 in float32: the gradient is the rounding error of c*log1p(1), which each of the five
    # allowed values of log1p(1) changes
    e = Element(np.float32(0), np.float32(0), None, None, np.float32(2.324114))
    g = Gathered(LOGITS, "float32", "grad_target", "sum", (e,), 1, False)
    assert xm.xla_value(g) is None
    outcomes = xm.xla_outcomes(g)
    assert float(outcomes.low) < float(outcomes.high)  # several residuals, no prediction


def test_cancellation_cause_explains_recorded_zero_and_rejects_perturbed():
    cls = one_element_class(LOGITS, "grad_target", "bfloat16", "0.0", x=-0.00128936767578125, y=0.5)
    assert attribute("jax", cls).cause_id == "optax-target-gradient-softplus-difference"
    assert attribute("jax", cls, control=True).cause_id == UNEXPLAINED
    moved = next_after(scalar(0.0, "bfloat16"))
    assert not same_bits(
        xm.xla_value(gathered(LOGITS, "grad_target", "bfloat16", -0.00128936767578125, 0.5)), moved
    )


def test_report_explained_by_xla_causes_and_none_under_control(jax_run):
    explained = [c for c in jax_run.divergences if attribute("jax", c).explained]
    assert len(explained) >= 76
    assert not any(attribute("jax", c, control=True).explained for c in jax_run.divergences)
