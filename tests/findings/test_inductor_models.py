"""The torch-compile (Inductor) model: the decomposed loss and the compiled backward with exp and
log1p bounded, the generated reduction's order, and the causes built on them. Expected values
come from closed forms (float32 rounding worked by hand), never from torch.compile itself."""

from __future__ import annotations

import numpy as np

from conformance.findings import attribute
from conformance.findings import inductor_models as im
from conformance.findings.causes import UNEXPLAINED
from conformance.findings.elements import Element, Gathered

from .helpers import gathered, one_element_class

LOGITS = "binary_cross_entropy_with_logits"
BACKEND = "torch-compile"


def test_sum_adds_lanes_pairwise_not_in_order():
    # lanes 0, 1, 2 hold 2**-24, 1, 2**-24; the tree adds lane 0 to lane 2 first (2**-23), then
    # lane 1: 1 + 2**-23 is a float32. In order, 1 + 2**-24 is a tie that rounds to 1, twice.
    tiny = np.float32(2.0**-24)
    values = [tiny, np.float32(1), tiny]
    assert float(im.inductor_sum(values, np.float32(0))) == 1 + 2.0**-23
    in_order = (values[0] + values[1]) + values[2]
    assert float(in_order) == 1.0


def test_sum_puts_element_sixteen_in_lane_zero_before_the_tree():
    # elements 0 and 16 (2**-24 each) share lane 0: 2**-23 there; element 8 (1) is lane 8, which
    # the tree adds to lane 0 first: 1 + 2**-23, a float32. Adding element 16 after the tree
    # (outcomes.summation_orders' lanes) gives 1 + 2**-24 = 1 (a tie to even), then 1 again.
    tiny = np.float32(2.0**-24)
    values = [np.float32(0)] * 17
    values[0] = values[16] = tiny
    values[8] = np.float32(1)
    assert float(im.inductor_sum(values, np.float32(0))) == 1 + 2.0**-23
    from conformance.findings.outcomes import summation_orders

    assert float(summation_orders(values, np.float32(0))[-1]) == 1.0


def test_exp_of_zero_is_exact_and_log1p_of_one_has_three_allowed_values():
    assert [float(v) for v in im.sleef_exp(np.float32(0))] == [1.0]
    # log 2 lies 0.03 ulp from its float32 rounding: its neighbours are within 1.5 ulp, the next
    # ones beyond
    assert len(im.sleef_log1p(np.float32(1))) == 3


def test_loss_cancels_to_zero_for_large_negative_logit():
    # x = -30, y = 0: (1 - y)*x = -30 and log_sigmoid(-30) = -30 - 9.4e-14 rounds to -30 for
    # every allowed exp and log1p, so the loss is -30 - (-30) = 0; the exact loss is
    # log1p(e^-30) = 9.357623e-14
    g = gathered(LOGITS, "value", "float32", -30.0, 0.0)
    assert float(im.inductor_value(g)) == 0.0
    repaired = im.inductor_outcomes(g, im.Variant(loss="accurate"))
    assert 9.3576e-14 < float(repaired.low) <= float(repaired.high) < 9.3577e-14


def test_input_gradient_is_zero_where_exp_overflows():
    # x = -100: exp(100) overflows float32, sigmoid(-100) = 1/(1 + inf) = 0 and 0 - y = 0; the
    # derivative e^-100 = 3.7e-44 is a float32 subnormal
    g = gathered(LOGITS, "grad_input", "float32", -100.0, 0.0)
    assert im.sigmoid_exp_overflows(g)
    assert float(im.inductor_value(g)) == 0.0
    repaired = im.inductor_outcomes(g, im.Variant(grad_input="no_overflow"))
    assert 3.6e-44 < float(repaired.low) <= float(repaired.high) < 3.9e-44


def test_input_gradient_keeps_only_the_rounding_of_sigmoid():
    # x = 20, y = 1: sigmoid(20) = 1 - 2.06e-9 rounds to 1 in float32, so sigmoid - y = 0
    g = gathered(LOGITS, "grad_input", "float32", 20.0, 1.0)
    assert float(im.inductor_value(g)) == 0.0
    wide = im.inductor_outcomes(g, im.Variant(grad_input="wide")).single()
    assert -2.07e-9 < float(wide) < -2.06e-9


def test_target_gradient_without_pos_weight_is_minus_x_times_upstream_and_weight_over_n():
    # -x, times the upstream gradient 3, times the weight 0.5, divided by float(N) = 3:
    # -1 * 3 = -3, * 0.5 = -1.5, / 3 = -0.5 (each step exact)
    e = Element(np.float32(1), np.float32(0.25), np.float32(0.5), None, np.float32(3))
    g = Gathered(LOGITS, "float32", "grad_target", "mean", (e,), 3, False)
    assert float(im.inductor_value(g)) == -0.5


def test_mean_over_no_elements_is_nan_and_sum_is_zero():
    mean = Gathered(LOGITS, "float32", "value", "mean", (), 0, True)
    total = Gathered(LOGITS, "float32", "value", "sum", (), 0, True)
    assert np.isnan(float(im.inductor_value(mean)))
    assert float(im.inductor_value(total)) == 0.0


def test_reduced_types_are_not_modelled():
    g = gathered(LOGITS, "value", "float16", -1.0, 0.5)
    assert im.inductor_outcomes(g) is None


def test_model_declines_where_log1p_last_bits_decide():
    # x = 0 with pos_weight 2: log_sigmoid(-0) - log_sigmoid(0)*2 = -L + 2L with L = log1p(1):
    # each of its three allowed values gives a different result, so no prediction
    g = gathered(LOGITS, "grad_target", "float32", 0.0, 0.5, p=2.0)
    assert im.inductor_value(g) is None
    outcomes = im.inductor_outcomes(g)
    assert float(outcomes.low) < float(outcomes.high)


def test_loss_cancellation_cause_explains_recorded_zero_and_not_under_control():
    cls = one_element_class(LOGITS, "value", "float32", "0.0", x=-30.0, y=0.0)
    assert attribute(BACKEND, cls).cause_id == "inductor-logits-loss-log-sigmoid-cancellation"
    assert attribute(BACKEND, cls, control=True).cause_id == UNEXPLAINED


def test_overflow_cause_explains_zero_input_gradient_and_not_under_control():
    cls = one_element_class(LOGITS, "grad_input", "float32", "0.0", x=-100.0, y=0.0)
    assert attribute(BACKEND, cls).cause_id == "inductor-sigmoid-exp-overflow"
    assert attribute(BACKEND, cls, control=True).cause_id == UNEXPLAINED


def test_inductor_causes_do_not_apply_to_eager_torch():
    cls = one_element_class(LOGITS, "grad_input", "float32", "0.0", x=-100.0, y=0.0)
    assert not attribute("torch", cls).cause_id.startswith("inductor-")
