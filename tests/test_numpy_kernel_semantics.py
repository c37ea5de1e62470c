"""The NumPy kernel's semantics: domain errors, the -100 clamp, reductions, limits at infinite
arguments, NaN, gradients, and a few closed-form accuracy points.

Every expected value is a closed form derived from the documented formulas

    BCE:          l = -w [ y max(log x, -100) + (1 - y) max(log(1 - x), -100) ]
    with logits:  l = w [ p y softplus(-x) + (1 - y) softplus(x) ]

(softplus(0) = log 2, sigmoid(0) = 1/2), one behaviour per test.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from conformance.backends.numpy_kernel import (
    BCE,
    BCE_WITH_LOGITS,
    NumpyKernelBackend,
    _round_to_bfloat16,
    binary_cross_entropy,
    binary_cross_entropy_gradients,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_gradients,
    loss_and_gradients,
)
from conformance.backends.protocol import Backend, Call

INF, NAN = math.inf, math.nan
LOG2 = math.log(2.0)
DTYPES = {
    "float64": np.float64,
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
}


def arr(*values: float, dtype: object = np.float64) -> np.ndarray:
    return np.array(values, dtype=np.float64).astype(dtype)


def bce(x, y, w=None, reduction="none", dtype=np.float64):
    weight = None if w is None else arr(*w, dtype=dtype)
    return binary_cross_entropy(arr(*x, dtype=dtype), arr(*y, dtype=dtype), weight, reduction)


def logits(x, y, w=None, p=None, reduction="none", dtype=np.float64):
    weight = None if w is None else arr(*w, dtype=dtype)
    pos_weight = None if p is None else arr(*p, dtype=dtype)
    return binary_cross_entropy_with_logits(
        arr(*x, dtype=dtype), arr(*y, dtype=dtype), weight, pos_weight, reduction
    )


def logits_grads(x, y, w=None, p=None, wrt=("input",), reduction="none"):
    weight = None if w is None else arr(*w)
    pos_weight = None if p is None else arr(*p)
    return binary_cross_entropy_with_logits_gradients(
        arr(*x), arr(*y), weight, pos_weight, reduction, wrt
    )


# -- domain and shape errors --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-0.25, 1.5, NAN])
def test_bce_input_outside_unit_interval_raises_naming_input(bad):
    with pytest.raises(ValueError, match="input"):
        bce([bad], [0.5])


@pytest.mark.parametrize("bad", [-0.5, 1.25, NAN])
def test_bce_target_outside_unit_interval_raises_naming_target(bad):
    with pytest.raises(ValueError, match="target"):
        bce([0.5], [bad])


def test_logits_target_outside_unit_interval_is_evaluated_as_written():
    # y = 2 at x = 0: (p y - (y - 1)) log 2 = (2 - 1) log 2
    assert logits([0.0], [2.0])[0] == pytest.approx(LOG2, rel=1e-15)


def test_input_and_target_of_different_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        binary_cross_entropy_with_logits(np.zeros(3), np.zeros(4))


def test_weight_that_would_grow_the_target_shape_raises_naming_weight():
    with pytest.raises(ValueError, match="weight"):
        binary_cross_entropy_with_logits(np.zeros(3), np.zeros(3), np.ones((2, 3)))


def test_pos_weight_that_would_grow_the_target_shape_raises_naming_pos_weight():
    with pytest.raises(ValueError, match="pos_weight"):
        binary_cross_entropy_with_logits(np.zeros(3), np.zeros(3), None, np.ones((2, 1)))


def test_unknown_reduction_raises():
    with pytest.raises(ValueError, match="reduction"):
        bce([0.5], [0.5], reduction="average")


def test_weight_broadcasts_along_leading_dimensions():
    # x = 0.5: -log(1/2) = log 2 per element, weights [1, 2, 3] repeated over 2 rows
    out = binary_cross_entropy(np.full((2, 3), 0.5), np.full((2, 3), 0.5), arr(1, 2, 3), "none")
    np.testing.assert_allclose(out, [[LOG2, 2 * LOG2, 3 * LOG2]] * 2, rtol=1e-15)


# -- the -100 clamp -----------------------------------------------------------------------------


def test_bce_log_of_zero_input_is_clamped_to_minus_100():
    assert bce([0.0], [1.0])[0] == 100.0


def test_bce_log_of_one_minus_input_at_one_is_clamped_to_minus_100():
    assert bce([1.0], [0.0])[0] == 100.0


@pytest.mark.parametrize("x, y", [(0.0, 0.0), (1.0, 1.0)])
def test_bce_term_with_zero_coefficient_contributes_exactly_zero(x, y):
    assert bce([x], [y])[0] == 0.0


def test_bce_clamp_is_active_just_below_e_minus_100():
    # 2**-145 < e^-100 = 2**-144.27: the log is clamped and the loss is exactly 100
    assert bce([2.0**-145], [1.0])[0] == 100.0


def test_bce_clamp_is_inactive_just_above_e_minus_100():
    # 2**-144 > e^-100: the loss is -log(2**-144) = 144 log 2 (about 99.81)
    assert bce([2.0**-144], [1.0])[0] == pytest.approx(144 * LOG2, rel=1e-15)


def test_bce_input_gradient_of_a_clamped_log_term_is_zero():
    # x = 0 clamps log x: d/dx = -w [0 - (1 - y)/(1 - x)] = 1 - y
    grads = binary_cross_entropy_gradients(arr(0.0, 0.0), arr(0.25, 1.0), reduction="none")
    np.testing.assert_array_equal(grads["input"], [0.75, 0.0])


def test_bce_input_gradient_at_one_keeps_only_the_unclamped_term():
    # x = 1 clamps log(1 - x): d/dx = -w y / x = -y
    grads = binary_cross_entropy_gradients(arr(1.0), arr(0.25), reduction="none")
    assert grads["input"][0] == -0.25


def test_bce_target_gradient_uses_the_clamped_logs():
    # x = 0: d/dy = -[max(log 0, -100) - log 1] = 100
    grads = binary_cross_entropy_gradients(arr(0.0), arr(0.5), reduction="none", wrt=("target",))
    assert grads["target"][0] == 100.0


def test_bce_target_gradient_at_one_half_is_exactly_zero():
    grads = binary_cross_entropy_gradients(arr(0.5), arr(0.3), reduction="none", wrt=("target",))
    assert grads["target"][0] == 0.0


# -- reductions ---------------------------------------------------------------------------------


def test_mean_divides_by_the_element_count_not_by_the_weight_sum():
    # x = y = 1/2: log 2 per unit weight; weights 1 and 3: (log 2 + 3 log 2) / 2
    assert bce([0.5, 0.5], [0.5, 0.5], w=[1.0, 3.0], reduction="mean") == pytest.approx(2 * LOG2)


def test_sum_adds_the_elements():
    assert bce([0.5, 0.5], [0.5, 0.5], w=[1.0, 3.0], reduction="sum") == pytest.approx(4 * LOG2)


def test_mean_of_an_empty_loss_is_nan():
    assert np.isnan(bce([], [], reduction="mean"))


def test_sum_of_an_empty_loss_is_positive_zero():
    total = bce([], [], reduction="sum")
    assert total == 0.0 and not np.signbit(total)


def test_reduction_over_plus_and_minus_infinite_elements_is_nan():
    # x = +inf, y = 0: softplus(+inf) = inf, weighted by +1 and -1
    assert np.isnan(logits([INF, INF], [0.0, 0.0], w=[1.0, -1.0], reduction="sum"))


def test_exact_zero_result_is_positive_zero():
    # a negative weight times an exactly-zero bracket (BCE x = y = 0; logits y = 1, p = 0)
    assert not np.signbit(bce([0.0], [0.0], w=[-1.0])[0])
    assert not np.signbit(logits([2.0], [1.0], w=[-2.0], p=[0.0])[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_result_has_the_arguments_dtype(dtype):
    out = logits([0.0], [0.5], reduction="mean", dtype=DTYPES[dtype])
    assert out.dtype == np.dtype(DTYPES[dtype]) and out.shape == ()


# -- limits at infinite arguments (with logits) ---------------------------------------------------


def test_logits_input_plus_inf_with_target_below_one_is_signed_infinity():
    # (1 - y) softplus(x) -> sign(w (1 - y)) inf
    np.testing.assert_array_equal(logits([INF, INF], [0.25, 0.25], w=[1.0, -1.0]), [INF, -INF])


def test_logits_input_plus_inf_with_target_one_is_zero():
    # p y softplus(-x) -> 0 and (1 - y) = 0
    assert logits([INF], [1.0], p=[3.0])[0] == 0.0


def test_logits_input_minus_inf_is_signed_infinity_when_p_y_is_nonzero():
    np.testing.assert_array_equal(logits([-INF, -INF], [0.5, 0.5], p=[2.0, -2.0]), [INF, -INF])


@pytest.mark.parametrize("y, p", [(0.0, 1.0), (0.5, 0.0)])
def test_logits_input_minus_inf_with_zero_p_y_is_zero(y, p):
    assert logits([-INF], [y], p=[p])[0] == 0.0


def test_logits_target_infinite_is_signed_infinity():
    # slope p softplus(-1) - softplus(1) = -1 (p = 1): y = +inf gives -inf, y = -inf gives +inf
    np.testing.assert_array_equal(logits([1.0, 1.0], [INF, -INF]), [-INF, INF])


def test_logits_target_infinite_with_zero_slope_is_log_two():
    # p = 1, x = 0: the slope p softplus(0) - softplus(0) is 0 and the loss is softplus(0)
    assert logits([0.0], [INF])[0] == pytest.approx(LOG2, rel=1e-15)


def test_logits_pos_weight_infinite_is_signed_infinity():
    np.testing.assert_array_equal(logits([0.0, 0.0], [0.5, -0.5], p=[INF, INF]), [INF, -INF])


def test_logits_pos_weight_infinite_with_zero_target_is_softplus():
    # y = 0: the p y term is identically 0, leaving softplus(0)
    assert logits([0.0], [0.0], p=[INF])[0] == pytest.approx(LOG2, rel=1e-15)


def test_infinite_weight_times_identically_zero_bracket_is_zero():
    assert bce([0.0], [0.0], w=[INF])[0] == 0.0
    assert logits([3.0], [1.0], w=[INF], p=[0.0])[0] == 0.0


def test_infinite_weight_times_bracket_tending_to_zero_is_nan():
    # x = +inf, y = 1: p softplus(-x) only tends to 0
    assert np.isnan(logits([INF], [1.0], w=[INF])[0])


def test_infinite_weight_times_nonzero_bracket_is_signed_infinity():
    assert bce([0.5], [0.5], w=[-INF])[0] == -INF


def test_infinite_weight_times_an_underflowed_positive_bracket_is_infinity():
    # softplus(-1000) = e^-1000 underflows every format but is positive
    np.testing.assert_array_equal(logits([1000.0, 1e300], [1.0, 1.0], w=[INF, INF]), [INF, INF])


# -- NaN ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["input", "target", "weight", "pos_weight"])
def test_nan_in_any_argument_of_an_element_gives_nan(where):
    args = {"input": [0.5], "target": [0.5], "weight": [1.0], "pos_weight": [1.0]}
    args[where] = [NAN]
    out = logits(args["input"], args["target"], w=args["weight"], p=args["pos_weight"])
    assert np.isnan(out[0])


@pytest.mark.parametrize("where", ["input", "target", "weight", "pos_weight"])
def test_nan_in_any_argument_makes_every_gradient_nan(where):
    # even d/dy, which does not involve y, and d/dw, which does not involve w
    args = {"input": [0.5], "target": [0.5], "weight": [1.0], "pos_weight": [1.0]}
    args[where] = [NAN]
    grads = logits_grads(
        args["input"],
        args["target"],
        w=args["weight"],
        p=args["pos_weight"],
        wrt=("input", "target", "weight", "pos_weight"),
    )
    assert all(np.isnan(g[0]) for g in grads.values())


def test_nan_weight_makes_the_bce_weight_gradient_nan():
    grads = binary_cross_entropy_gradients(
        arr(0.5), arr(0.5), arr(NAN), reduction="none", wrt=("weight",)
    )
    assert np.isnan(grads["weight"][0])


def test_nan_pos_weight_gives_nan_even_with_zero_target():
    assert np.isnan(logits([0.5], [0.0], p=[NAN])[0])


def test_nan_weight_gives_nan_even_with_identically_zero_bracket():
    assert np.isnan(bce([0.0], [0.0], w=[NAN])[0])


# -- gradients ----------------------------------------------------------------------------------


def test_logits_input_gradient_of_mean_divides_by_element_count():
    # sigmoid(0) - 1 = -1/2 per element, over N = 2
    grads = logits_grads([0.0, 0.0], [1.0, 1.0], reduction="mean")
    np.testing.assert_array_equal(grads["input"], [-0.25, -0.25])


def test_logits_target_gradient_without_pos_weight_is_minus_x():
    grads = logits_grads([3.5, -1e300], [0.2, 0.7], wrt=("target",))
    np.testing.assert_array_equal(grads["target"], [-3.5, 1e300])


def test_logits_pos_weight_gradient_is_weight_times_target_times_softplus_minus_x():
    grads = logits_grads([0.0], [1.0], w=[3.0], p=[2.0], wrt=("pos_weight",))
    assert grads["pos_weight"][0] == pytest.approx(3 * LOG2, rel=1e-15)


def test_weight_gradient_sums_over_the_broadcast_dimensions():
    # bracket softplus(0) = log 2 at each of 2 rows, summed into a weight of shape (3,)
    grads = binary_cross_entropy_with_logits_gradients(
        np.zeros((2, 3)), np.zeros((2, 3)), np.ones(3), None, "sum", ("weight",)
    )
    assert grads["weight"].shape == (3,)
    np.testing.assert_allclose(grads["weight"], [2 * LOG2] * 3, rtol=1e-15)


def test_logits_input_gradient_at_plus_inf_is_weight_times_one_minus_target():
    grads = logits_grads([INF], [0.25], w=[2.0])
    assert grads["input"][0] == 1.5


def test_logits_input_gradient_at_its_zero_is_exactly_zero():
    # (1 - y + p y) sigmoid(0) - p y = 0 for y = 1/2, p = 1
    assert logits_grads([0.0], [0.5])["input"][0] == 0.0


def test_logits_input_gradient_near_its_zero_keeps_full_relative_accuracy():
    # y = 1/2, p = 1: sigmoid(x) - 1/2 = tanh(x/2)/2 = x/4 (1 - x^2/12 + ...)
    x = 2.0**-30
    assert logits_grads([x], [0.5])["input"][0] == pytest.approx(x / 4, rel=2**-52)


def test_gradient_is_scaled_by_grad_output():
    grads = binary_cross_entropy_with_logits_gradients(
        arr(0.0), arr(1.0), reduction="sum", grad_output=np.array(-4.0)
    )
    assert grads["input"][0] == 2.0  # -4 (sigmoid(0) - 1)


def test_gradient_with_respect_to_an_absent_weight_raises():
    with pytest.raises(ValueError, match="weight"):
        logits_grads([0.0], [0.5], wrt=("weight",))


def test_bce_has_no_pos_weight_gradient():
    with pytest.raises(ValueError, match="pos_weight"):
        binary_cross_entropy_gradients(arr(0.5), arr(0.5), wrt=("pos_weight",))


# -- accuracy at closed-form points ---------------------------------------------------------------


def test_softplus_tail_stays_accurate_into_float64_subnormals():
    # x = 740, y = 1: softplus(-740) = e^-740 (1 - e^-740 / 2 ...), a subnormal double
    assert logits([740.0], [1.0])[0] == math.exp(-740.0)


def test_softplus_tail_stays_accurate_into_float32_subnormals():
    # e^-100 = 3.72e-44 is a float32 subnormal; one rounding from the double e^-100
    out = logits([100.0], [1.0], dtype=np.float32)[0]
    assert out == np.float32(math.exp(-100.0))


def test_bfloat16_rounding_from_double_is_a_single_rounding():
    # 1 + 2**-8 + 2**-40 lies just above the midpoint of 1 and 1 + 2**-7: it rounds up.
    # Through float32 it would first land on the midpoint and then tie to even, 1.0.
    value = np.array([1 + 2.0**-8 + 2.0**-40, -(1 + 2.0**-8 + 2.0**-40), 1 + 2.0**-8])
    np.testing.assert_array_equal(
        _round_to_bfloat16(value).astype(np.float64), [1 + 2.0**-7, -(1 + 2.0**-7), 1.0]
    )


# -- the backend --------------------------------------------------------------------------------


def test_backend_speaks_the_protocol():
    backend = NumpyKernelBackend()
    assert isinstance(backend, Backend)
    assert backend.name == "numpy" and backend.version == np.__version__
    assert set(DTYPES) <= backend.dtypes


def test_backend_reports_a_domain_error_as_raised():
    call = Call(BCE, "float64", arr(1.5), arr(0.5))
    outcome = NumpyKernelBackend().evaluate(call)
    assert (
        outcome.status == "raised"
        and outcome.error.startswith("ValueError")
        and "input" in outcome.error
    )


@pytest.mark.parametrize(
    "legacy, expected", [((None, False), "none"), ((False, None), "sum"), ((None, None), "mean")]
)
def test_backend_legacy_arguments_select_the_reduction(legacy, expected):
    x, y = arr(0.0, 0.0), arr(1.0, 0.0)  # losses log 2 and log 2
    outcome = NumpyKernelBackend().evaluate(Call(BCE_WITH_LOGITS, "float64", x, y, legacy=legacy))
    wanted = {"none": [LOG2, LOG2], "sum": 2 * LOG2, "mean": LOG2}[expected]
    np.testing.assert_allclose(outcome.value, wanted, rtol=1e-15)


def test_backend_returns_value_and_gradients_in_one_outcome():
    call = Call(
        BCE_WITH_LOGITS,
        "float32",
        arr(0.0, dtype=np.float32),
        arr(1.0, dtype=np.float32),
        grad_wrt=("input", "target"),
    )
    outcome = NumpyKernelBackend().evaluate(call)
    value, grads = loss_and_gradients(
        BCE_WITH_LOGITS, call.input, call.target, wrt=("input", "target")
    )
    assert outcome.status == "ok" and outcome.value == value
    assert outcome.gradients["input"].dtype == np.float32
    np.testing.assert_array_equal(outcome.gradients["input"], grads["input"])


def test_weight_gradient_over_an_empty_target_is_zeros_of_the_weight_shape():
    # Found by the deep audit: a (0,) weight broadcast over a [1, 3, 0] target.
    from conformance.backends import numpy_kernel as nk

    x = np.zeros((1, 3, 0), dtype=np.float32)
    g = nk.binary_cross_entropy_with_logits_gradients(
        x, x, weight=np.zeros((0,), np.float32), reduction="sum", wrt=("weight",)
    )
    assert g["weight"].shape == (0,)
    g = nk.binary_cross_entropy_with_logits_gradients(
        x, x, weight=np.ones((3, 1), np.float32), reduction="sum", wrt=("weight",)
    )
    assert g["weight"].tolist() == [[0.0], [0.0], [0.0]]
