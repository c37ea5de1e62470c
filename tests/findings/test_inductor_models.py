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


def test_with_logits_mixing_a_reduced_type_is_not_modelled():
    e = Element(np.float16(-1), np.float32(0.5), None, None)
    dtypes = (("input", "float16"), ("target", "float32"))
    g = Gathered(LOGITS, "float16", "value", "none", (e,), 1, False, dtypes)
    assert im.inductor_outcomes(g) is None


def test_with_logits_float16_loss_is_computed_in_float32_and_rounded_once():
    # x = 0, y = 0: 0 - (0 - log1p(1)) = log 2 = 0.6931472 in float32 (each allowed log1p within
    # an ulp of it), once into float16: 0.6931472/2**-11 = 1419.56, so 1420 * 2**-11 = 0.6933594
    g = gathered(LOGITS, "value", "float16", 0.0, 0.0)
    assert float(im.inductor_value(g)) == 1420 * 2.0**-11


def test_with_logits_float16_sigmoid_overflows_only_beyond_float32s_range():
    # the float16 kernel computes exp(-x) in float32: exp(20) = 4.9e8 overflows float16 but not
    # float32; exp(100) overflows both
    assert not im.sigmoid_exp_overflows(gathered(LOGITS, "grad_input", "float16", -20.0, 0.0))
    assert im.sigmoid_exp_overflows(gathered(LOGITS, "grad_input", "float16", -100.0, 0.0))


def test_with_logits_float16_mean_gradient_divides_by_the_count_in_float16():
    # x = 0, y = 0: sigmoid(0) - 0 = 0.5; float16(70000) = inf, so 0.5/inf = 0; dividing by
    # float(70000) gives 7.14e-6, a float16 subnormal (spacing 2**-24 = 5.96e-8)
    e = Element(np.float16(0), np.float16(0), None, None)
    g = Gathered(LOGITS, "float16", "grad_input", "mean", (e,), 70000, False)
    assert float(im.inductor_value(g)) == 0.0
    fixed = im.inductor_outcomes(g, im.Variant(count="float32")).single()
    assert abs(float(fixed) - 0.5 / 70000) <= 2.0**-25


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


# ------------------------------------------------------------------ binary_cross_entropy

BCE = "binary_cross_entropy"


def test_sleef_log_special_values_are_exact():
    assert [float(v) for v in im.sleef_log(np.float32(1))] == [0.0]
    assert [float(v) for v in im.sleef_log(np.float32(0))] == [-np.inf]
    assert np.isnan(float(im.sleef_log(np.float32(-1))[0]))


def test_bce_loss_floors_log_of_zero_at_minus_100():
    # x = 0, y = 1: (1 - 1)*max(log1p(-0), -100) - 1*max(log 0, -100) = 0*0 - (-100) = 100
    g = gathered(BCE, "value", "float32", 0.0, 1.0)
    assert float(im.inductor_value(g)) == 100.0


def test_bce_loss_of_input_outside_unit_interval_is_nan():
    # no range check in the decomposition: log1p(-1.5) is NaN and maximum(NaN, -100) keeps it
    g = gathered(BCE, "value", "float32", 1.5, 0.0)
    assert np.isnan(float(im.inductor_value(g)))


def test_bce_range_cause_explains_an_unraised_input_outside_unit_interval():
    # what the audit records for a loss that returned instead of raising
    got = "returned float32[1] [nan]"
    cls = one_element_class(BCE, "value", "float32", got, x=1.5, y=0.0, verdict="did_not_raise")
    assert attribute(BACKEND, cls).cause_id == "inductor-bce-range-unchecked"
    assert attribute(BACKEND, cls, control=True).cause_id == UNEXPLAINED


def test_bce_input_gradient_floor_gives_minus_one_over_epsilon_at_zero():
    # x = 0, y = 1: go*(0 - 1)/maximum(0*(1 - 0), 1e-12f) = -1/1e-12f, where the clamped loss
    # is constant (its log is at the -100 floor) and the derivative 0
    g = gathered(BCE, "grad_input", "float32", 0.0, 1.0)
    expected = np.float32(-1) / np.float32(1e-12)
    assert im.inductor_value(g) == expected
    assert float(im.inductor_outcomes(g, im.Variant(bce_grad_input="clamped")).single()) == 0.0


def test_bce_epsilon_cause_explains_the_floor_and_not_under_control():
    got = repr(float(np.float32(-1) / np.float32(1e-12)))
    cls = one_element_class(BCE, "grad_input", "float32", got, x=0.0, y=1.0)
    assert attribute(BACKEND, cls).cause_id == "inductor-bce-backward-epsilon-floor"
    assert attribute(BACKEND, cls, control=True).cause_id == UNEXPLAINED


def test_bce_float16_input_gradient_keeps_epsilon_in_float32_and_overflows_at_the_store():
    # float16 is computed in float32: 1e-12 is not flushed, -1/1e-12f = -1e12 is finite there
    # and rounds to -inf in float16 (eager float16 flushes 1e-12 to 0 instead)
    g = gathered(BCE, "grad_input", "float16", 0.0, 1.0)
    assert float(im.inductor_value(g)) == -np.inf
    cls = one_element_class(BCE, "grad_input", "float16", "-inf", x=0.0, y=1.0)
    assert attribute(BACKEND, cls).cause_id == "inductor-bce-backward-epsilon-floor"


def test_bce_target_gradient_at_one_is_minus_infinity_not_minus_100():
    # -log(1/(1 - 1)) = -log(inf) = -inf; the clamped logs give max(-inf, -100) - max(0, -100)
    g = gathered(BCE, "grad_target", "float32", 1.0, 0.5)
    assert float(im.inductor_value(g)) == -np.inf
    repaired = im.inductor_outcomes(g, im.Variant(bce_grad_target="clamped")).single()
    assert float(repaired) == -100.0
    cls = one_element_class(BCE, "grad_target", "float32", "-inf", x=1.0, y=0.5)
    assert attribute(BACKEND, cls).cause_id == "inductor-bce-target-gradient-unclamped-logit"
    assert attribute(BACKEND, cls, control=True).cause_id == UNEXPLAINED


def test_bce_float16_mean_target_gradient_divides_by_the_count_in_float16():
    # x = 0.25: -log(0.25/0.75) = log 3 = 1.0986; a mean over 70000 elements divides by
    # float16(70000) = inf, giving 0 (and -inf/inf = NaN at x = 1); over 60000 (a float16) the
    # quotient 1.0986/60000 = 1.831e-5 is a float16 subnormal (spacing 2**-24)
    def mean_of(x, n):
        e = Element(np.float16(x), np.float16(0.5), None, None)
        return im.inductor_value(Gathered(BCE, "float16", "grad_target", "mean", (e,), n, False))

    assert float(mean_of(0.25, 70000)) == 0.0
    assert np.isnan(float(mean_of(1.0, 70000)))
    assert abs(float(mean_of(0.25, 60000)) - np.log(3) / 60000) <= 2.0**-25
