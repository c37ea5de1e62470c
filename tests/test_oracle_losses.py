"""The oracle's losses against closed forms derived from the documentation.

Each expected value is stated as a formula in the test (mpmath at 300 bits supplies the digits of
transcendental constants such as log 2; none of them lies within 2**-250 of a rounding boundary).
"""

from fractions import Fraction

import numpy as np
import pytest
from mpmath import mp

import oracle
import oracle.linear_forms as linear_forms

F = Fraction
INF, NAN = float("inf"), float("nan")
DTYPES = ["float64", "float32", "float16", "bfloat16"]


def closed_form(expr):
    with mp.workprec(300):
        return expr()


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# -- documented examples and simple closed forms -------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_documented_example_minus_log_sigmoid_of_one_point_five(dtype):
    # BCEWithLogitsLoss docs: target ones, output 1.5, pos_weight ones -> -log(sigmoid(1.5)), 0.2014
    r = oracle.binary_cross_entropy_with_logits(
        np.full((10, 64), 1.5), np.ones((10, 64)), pos_weight=np.ones(64)
    )
    expected = closed_form(lambda: mp.log1p(mp.exp(-1.5)))
    assert same_bits(r.rounded(dtype), oracle.round_to(expected, dtype))
    assert abs(float(r.rounded("float64")) - 0.2014) < 5e-5


@pytest.mark.parametrize("dtype", DTYPES)
def test_logit_zero_gives_log_two_for_any_target(dtype):
    r = oracle.binary_cross_entropy_with_logits([0.0, 0.0, 0.0], [0.0, 0.25, 1.0], reduction="none")
    log2 = oracle.round_to(closed_form(lambda: mp.log(2)), dtype)
    assert all(same_bits(v, log2) for v in r.rounded(dtype))


@pytest.mark.parametrize("x, y", [(0.0, 1.0), (1.0, 0.0)])
def test_clamp_gives_exactly_one_hundred_when_the_probability_is_wrong_with_certainty(x, y):
    r = oracle.binary_cross_entropy([x], [y], reduction="none")
    assert r.rounded("float64")[0] == 100.0
    assert r.exact()[0].form.is_constant


@pytest.mark.parametrize("x", [0.0, 1.0])
def test_certain_and_right_prediction_costs_exactly_zero(x):
    r = oracle.binary_cross_entropy([x], [x], reduction="none")
    assert same_bits(r.rounded("float32"), np.array([0.0], np.float32))  # +0, not -0


def test_bce_of_one_half_against_one_half_is_log_two():
    r = oracle.binary_cross_entropy(0.5, 0.5)
    assert same_bits(
        r.rounded("float64"), oracle.round_to(closed_form(lambda: mp.log(2)), "float64")
    )


def test_clamp_is_active_below_e_to_the_minus_100_and_not_above():
    # 2**-149: log = -149 log 2 = -103.3 < -100, clamped. 2**-144: log = -99.8, not clamped.
    r = oracle.binary_cross_entropy([2.0**-149, 2.0**-144], [1.0, 1.0], reduction="none")
    got = r.rounded("float64")
    assert got[0] == 100.0
    assert same_bits(got[1], oracle.round_to(closed_form(lambda: 144 * mp.log(2)), "float64"))


def test_clamp_decision_right_at_e_to_the_minus_100():
    e100 = closed_form(lambda: mp.exp(-100))
    below = float(e100) * (1 - 2**-50)
    above = float(e100) * (1 + 2**-50)
    r = oracle.binary_cross_entropy([below, above], [1.0, 1.0], reduction="none")
    got = r.rounded("float64")
    assert got[0] == 100.0
    assert same_bits(
        got[1], oracle.round_to(closed_form(lambda: -mp.log(mp.mpf(above))), "float64")
    )
    assert r.exact()[0].form.is_constant  # clamped: exactly 100
    assert not r.exact()[1].form.is_constant  # not clamped: -log(x), which rounds to 100 too


def test_positive_term_only_is_weighted_by_pos_weight():
    # y = 1/2, p = 3: l = 3 * 1/2 * softplus(-x) + 1/2 * softplus(x) at x = 1.
    r = oracle.binary_cross_entropy_with_logits([1.0], [0.5], pos_weight=[3.0], reduction="sum")
    expected = closed_form(lambda: 1.5 * mp.log1p(mp.exp(-1)) + 0.5 * mp.log1p(mp.exp(1)))
    assert same_bits(r.rounded("float64"), oracle.round_to(expected, "float64"))


# -- reductions and the legacy arguments ---------------------------------------------------------


def test_mean_divides_by_the_number_of_elements_not_the_sum_of_weights():
    # weights [1, 0]: mean = (100 + 0) / 2 = 50, where a weighted average would give 100.
    r = oracle.binary_cross_entropy([0.0, 0.0], [1.0, 1.0], weight=[1.0, 0.0])
    assert r.rounded("float64") == 50.0


def test_sum_of_clamped_terms_is_exact():
    r = oracle.binary_cross_entropy([0.0] * 3, [1.0] * 3, reduction="sum")
    assert r.rounded("float16") == 300.0


@pytest.mark.parametrize(
    "size_average, reduce, expected",
    [
        (True, None, "mean"),
        (False, None, "sum"),
        (None, True, "mean"),
        (False, True, "sum"),
        (True, False, "none"),
        (False, False, "none"),
        (None, False, "none"),
    ],
)
def test_legacy_size_average_and_reduce_override_reduction(size_average, reduce, expected):
    assert (
        oracle.resolve_reduction("sum" if expected == "none" else "none", size_average, reduce)
        == expected
    )


def test_reduction_is_used_when_neither_legacy_argument_is_given():
    assert oracle.resolve_reduction("sum", None, None) == "sum"


def test_legacy_reduce_false_returns_the_unreduced_loss():
    r = oracle.binary_cross_entropy([0.0, 1.0], [1.0, 1.0], size_average=True, reduce=False)
    assert r.rounded("float32").tolist() == [100.0, 0.0]


def test_unknown_reduction_is_a_domain_error_naming_the_argument():
    with pytest.raises(oracle.OracleReductionError, match="reduction"):
        oracle.binary_cross_entropy([0.5], [0.5], reduction="average")


def test_module_forms_equal_the_functional_forms():
    x, y, w, p = [0.2, 0.7], [1.0, 0.0], [2.0, 0.5], [3.0, 1.0]
    m = oracle.BCELoss(weight=w, reduction="sum")(x, y).rounded("float64")
    f = oracle.binary_cross_entropy(x, y, w, reduction="sum").rounded("float64")
    assert same_bits(m, f)
    m = oracle.BCEWithLogitsLoss(weight=w, pos_weight=p, reduce=False)(x, y).rounded("float64")
    f = oracle.binary_cross_entropy_with_logits(x, y, w, reduction="none", pos_weight=p)
    assert same_bits(m, f.rounded("float64"))


# -- shapes and broadcasting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target_shape, pos_weight_shape",
    [
        ((4, 3), (3,)),
        ((2, 3, 2, 2), (3, 1, 1)),
        ((2, 3, 2, 2), (3, 2, 2)),
        ((2, 3), ()),
        ((2, 3), (2, 3)),
        ((2, 3), (2, 1)),
    ],
)
def test_pos_weight_broadcasts_in_every_documented_form(target_shape, pos_weight_shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(target_shape)
    y = rng.random(target_shape)
    p = rng.random(pos_weight_shape) * 3
    r = oracle.binary_cross_entropy_with_logits(x, y, pos_weight=p, reduction="none")
    full = np.broadcast_to(p, target_shape)
    r_full = oracle.binary_cross_entropy_with_logits(x, y, pos_weight=full, reduction="none")
    assert same_bits(r.rounded("float64"), r_full.rounded("float64"))
    assert r.rounded("float64").shape == target_shape


@pytest.mark.parametrize("name", ["weight", "pos_weight"])
@pytest.mark.parametrize("shape", [(4,), (2, 2, 3), (3, 2)])
def test_weights_that_do_not_broadcast_to_the_target_are_shape_errors(name, shape):
    with pytest.raises(oracle.OracleShapeError, match=name):
        oracle.binary_cross_entropy_with_logits(
            np.zeros((2, 3)), np.zeros((2, 3)), **{name: np.ones(shape)}
        )


def test_input_and_target_shapes_must_match():
    with pytest.raises(oracle.OracleShapeError, match="target"):
        oracle.binary_cross_entropy(np.full((2, 3), 0.5), np.full((3,), 0.5))


def test_empty_loss_has_sum_zero_and_mean_nan():
    empty = np.zeros((0, 3))
    assert oracle.binary_cross_entropy(empty, empty, reduction="sum").rounded("float32") == 0.0
    assert np.isnan(oracle.binary_cross_entropy(empty, empty).rounded("float32"))
    assert oracle.binary_cross_entropy(empty, empty, reduction="none").rounded("float32").shape == (
        0,
        3,
    )


def test_zero_dimensional_tensors_give_zero_dimensional_results():
    r = oracle.binary_cross_entropy_with_logits(np.float32(0.0), np.float32(1.0), reduction="none")
    assert r.rounded("float32").shape == ()


# -- domain errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-0.5, 1.5, NAN, INF])
def test_bce_input_outside_the_unit_interval_is_a_domain_error(x):
    with pytest.raises(oracle.OracleDomainError, match="input"):
        oracle.binary_cross_entropy([x], [0.5])


@pytest.mark.parametrize("y", [-(2**-30), 1 + 2**-30, NAN])
def test_bce_target_outside_the_unit_interval_is_a_domain_error(y):
    with pytest.raises(oracle.OracleDomainError, match="target"):
        oracle.binary_cross_entropy([0.5], [y])


def test_unreadable_values_are_domain_errors():
    with pytest.raises(oracle.OracleDomainError, match="input"):
        oracle.binary_cross_entropy([[0.5], [0.5, 0.5]], [0.5])
    with pytest.raises(oracle.OracleDomainError, match="weight"):
        oracle.binary_cross_entropy([0.5], [0.5], weight=["heavy"])


def test_every_oracle_error_shares_one_base_class():
    for cls in (
        oracle.OracleDomainError,
        oracle.OracleShapeError,
        oracle.OracleReductionError,
        oracle.UncertifiedError,
        oracle.UnsupportedPointError,
        oracle.UnknownFormatError,
    ):
        assert issubclass(cls, oracle.OracleError)


# -- special values ------------------------------------------------------------------------------


def test_negative_zero_is_read_as_zero():
    a = oracle.binary_cross_entropy([-0.0], [1.0], reduction="none").rounded("float64")
    assert a[0] == 100.0


@pytest.mark.parametrize(
    "x, y, expected",
    [
        (INF, 0.0, INF),
        (INF, 1.0, 0.0),
        (INF, 0.25, INF),
        (-INF, 1.0, INF),
        (-INF, 0.0, 0.0),
        (INF, 2.0, -INF),
    ],
)
def test_infinite_logits_give_the_limit_of_the_formula(x, y, expected):
    r = oracle.binary_cross_entropy_with_logits([x], [y], reduction="none")
    assert r.rounded("float32")[0] == expected


def test_infinite_weight_times_an_identically_zero_term_is_zero():
    r = oracle.binary_cross_entropy([1.0], [1.0], weight=[INF], reduction="none")
    assert r.rounded("float64")[0] == 0.0


def test_infinite_weight_times_a_term_that_only_tends_to_zero_is_nan():
    r = oracle.binary_cross_entropy_with_logits([INF], [1.0], weight=[INF], reduction="none")
    assert np.isnan(r.rounded("float64")[0])


def test_infinite_target_with_a_finite_logit_gives_the_signed_limit():
    # g = softplus(x) + y (softplus(-x) - softplus(x)) = softplus(x) - y x; at x = 1 the slope is -1.
    r = oracle.binary_cross_entropy_with_logits([1.0, -1.0], [INF, INF], reduction="none")
    assert r.rounded("float64").tolist() == [-INF, INF]


def test_zero_pos_weight_with_infinite_logit_has_a_zero_limit():
    r = oracle.binary_cross_entropy_with_logits([-INF], [1.0], pos_weight=[0.0], reduction="none")
    assert r.rounded("float64")[0] == 0.0


@pytest.mark.parametrize("where", ["input", "target", "weight", "pos_weight"])
def test_nan_anywhere_in_an_element_gives_nan(where):
    args = {"input": [0.5], "target": [0.5], "weight": [1.0], "pos_weight": [1.0]}
    args[where] = [NAN]
    r = oracle.binary_cross_entropy_with_logits(
        args["input"],
        args["target"],
        weight=args["weight"],
        pos_weight=args["pos_weight"],
        reduction="none",
    )
    assert np.isnan(r.rounded("float32")[0])


def test_opposite_infinities_in_a_sum_give_nan():
    r = oracle.binary_cross_entropy_with_logits([INF, INF], [0.0, 2.0], reduction="sum")
    assert np.isnan(r.rounded("float64"))


def test_two_infinite_arguments_in_one_element_are_not_decided():
    with pytest.raises(oracle.UnsupportedPointError, match="infinite"):
        oracle.binary_cross_entropy_with_logits([INF], [INF])


def test_far_tail_logit_underflows_to_a_correctly_signed_zero():
    # x = 3e38, y = 1: loss = softplus(-3e38) > 0 rounds to +0; d/dx = sigma(x) - 1 < 0 rounds to -0.
    r = oracle.binary_cross_entropy_with_logits([3e38], [1.0], reduction="none")
    assert same_bits(r.rounded("float32"), np.array([0.0], np.float32))
    assert same_bits(r.gradient("input", "float32"), np.array([-0.0], np.float32))


def test_tail_value_in_subnormal_range_is_correctly_rounded():
    # x = 700, y = 1: softplus(-700) = log1p(e^-700) ~ 9.86e-305, a normal float64.
    r = oracle.binary_cross_entropy_with_logits([700.0, 740.0], [1.0, 1.0], reduction="none")
    expected = [
        closed_form(lambda: mp.log1p(mp.exp(-700))),
        closed_form(lambda: mp.log1p(mp.exp(-740))),
    ]
    got = r.rounded("float64")
    assert same_bits(got[0], oracle.round_to(expected[0], "float64"))
    assert same_bits(got[1], oracle.round_to(expected[1], "float64"))  # subnormal


# -- exactness and certification -----------------------------------------------------------------


def test_sum_whose_logarithms_cancel_exactly_is_zero():
    # x = 1/4 and 7/16 with y = 0: terms log(3/4) and log(9/16) = 2 log(3/4); weights 2 and -1.
    r = oracle.binary_cross_entropy([0.25, 0.4375], [0.0, 0.0], weight=[2.0, -1.0], reduction="sum")
    assert same_bits(r.rounded("float64"), np.array(0.0))


def test_sum_whose_softplus_terms_cancel_exactly_is_zero():
    r = oracle.binary_cross_entropy_with_logits(
        [0.3, 0.3], [1.0, 1.0], weight=[1.0, -1.0], reduction="sum"
    )
    assert same_bits(r.rounded("bfloat16"), oracle.round_to(0, "bfloat16"))


def test_reaching_the_precision_cap_raises_instead_of_guessing(monkeypatch):
    from oracle import fast

    monkeypatch.setattr(linear_forms, "PRECISION_CAP", 16)
    fast.set_enabled(False)  # the exact path's cap (the fast path now decides float64 too)
    try:
        with pytest.raises(oracle.UncertifiedError):
            oracle.binary_cross_entropy_with_logits([1.0], [1.0]).rounded("float64")
    finally:
        fast.set_enabled(True)


# -- gradients -----------------------------------------------------------------------------------


def test_bce_input_gradient_is_the_exact_rational_derivative():
    # l = -log x at y = 1: d/dx = -1/x = -4 at x = 1/4; mean over N = 2 halves it.
    r = oracle.binary_cross_entropy([0.25, 0.5], [1.0, 0.0])
    # second element: l = -log(1 - x), d/dx = 1/(1 - x) = 2; halved: 1
    assert r.gradient("input", "float64").tolist() == [-2.0, 1.0]


def test_bce_gradient_of_a_clamped_term_is_zero():
    r = oracle.binary_cross_entropy([0.0, 1.0], [1.0, 0.0], reduction="sum")
    assert r.gradient("input", "float32").tolist() == [0.0, 0.0]


def test_bce_target_gradient_is_the_difference_of_clamped_logs():
    # d/dy = -(max(log x, -100) - max(log(1 - x), -100)); at x = 0: -(-100 - 0) = 100.
    r = oracle.binary_cross_entropy([0.0, 0.5], [0.3, 0.3], reduction="none")
    assert r.gradient("target", "float64").tolist() == [100.0, 0.0]


def test_logits_input_gradient_at_zero_is_rational():
    # h = (1 - y + p y) / 2 - p y; y = 1, p = 3: 3/2 - 3 = -3/2; times grad_output 2.
    r = oracle.binary_cross_entropy_with_logits([0.0], [1.0], pos_weight=[3.0], reduction="none")
    assert r.gradient("input", "float16", grad_output=[2.0]).tolist() == [-3.0]


def test_pos_weight_gradient_sums_over_the_broadcast_batch():
    # d/dp_c = sum_n y softplus(-x) = 3 * log 2 at x = 0, y = 1 for a [3, 2] target and p of [2].
    r = oracle.binary_cross_entropy_with_logits(
        np.zeros((3, 2)), np.ones((3, 2)), pos_weight=np.ones(2), reduction="sum"
    )
    expected = oracle.round_to(closed_form(lambda: 3 * mp.log(2)), "float32")
    got = r.gradient("pos_weight", "float32")
    assert got.shape == (2,) and all(same_bits(v, expected) for v in got)


def test_weight_gradient_is_the_unweighted_term_divided_by_n_for_mean():
    r = oracle.binary_cross_entropy([0.0, 0.0], [1.0, 1.0], weight=[3.0])
    assert r.gradient("weight", "float64").tolist() == [100.0]  # (100 + 100) / 2


def test_gradient_of_an_argument_that_was_not_given_is_a_domain_error():
    r = oracle.binary_cross_entropy([0.5], [0.5])
    with pytest.raises(oracle.OracleDomainError, match="weight"):
        r.gradient("weight", "float32")


def test_gradient_with_a_grad_output_of_the_wrong_shape_is_a_shape_error():
    r = oracle.binary_cross_entropy([0.5, 0.5], [0.5, 0.5], reduction="none")
    with pytest.raises(oracle.OracleShapeError, match="grad_output"):
        r.gradient("input", "float32", grad_output=[1.0, 1.0, 1.0])


def test_gradient_at_an_infinite_logit_is_the_limit():
    # h -> 1 - y as x -> +inf and -> -p y as x -> -inf.
    r = oracle.binary_cross_entropy_with_logits(
        [INF, -INF], [0.25, 0.25], pos_weight=[2.0, 2.0], reduction="none"
    )
    assert r.gradient("input", "float32").tolist() == [0.75, -0.5]


def test_exact_value_is_available_as_a_form():
    r = oracle.binary_cross_entropy(0.5, 1.0)
    assert r.exact()[()].form.terms == {("log2",): F(1)}


@pytest.mark.parametrize("wrt", ["input", "target", "weight", "pos_weight"])
def test_nan_anywhere_in_an_element_makes_every_gradient_nan(wrt):
    r = oracle.binary_cross_entropy_with_logits(
        [0.5, 0.5], [NAN, 0.5], weight=[1.0, 1.0], pos_weight=[2.0, 2.0], reduction="none"
    )
    g = r.gradient(wrt, "float64")
    assert np.isnan(g[0]) and not np.isnan(g[1])


def test_nan_weight_makes_the_bce_weight_gradient_nan():
    r = oracle.binary_cross_entropy([0.5], [0.5], weight=[NAN], reduction="sum")
    assert np.isnan(r.gradient("weight", "float32")[0])


@pytest.mark.parametrize(
    "t", [Fraction(9935289, 64), Fraction(10**6), Fraction(10**30) + Fraction(1, 3)]
)
def test_a_tiny_expit_term_prints_with_every_digit_correct(t):
    """c * expit_t = c / (1 + e^t) for t beyond 2^17 (once enclosed by powers of two only, so its
    decimal had no correct digit and the 30-digit print raised: found by the mutation score at
    seed 2, a with-logits input gradient at x = -155238.9). The closed form, evaluated with
    mpmath at log2(t) + 400 bits, is the reference."""
    from mpmath import mp

    from oracle.extended import Ext
    from oracle.linear_forms import Form

    c = Fraction(65164056758255, 17592186044416)
    text = Ext("finite", Form(Fraction(0), {("expit", t): c})).decimal(30)
    with mp.workprec(t.numerator.bit_length() + 400):
        u = mp.exp(-mp.mpf(t.numerator) / t.denominator)
        reference = mp.mpf(c.numerator) / c.denominator * u / (1 + u)
        assert abs(mp.mpf(text) - reference) <= abs(reference) * mp.mpf(10) ** -29
