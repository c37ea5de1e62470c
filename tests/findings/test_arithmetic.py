"""Kernel arithmetic: correctly rounded elementary functions, std::max, signed zeros, one ulp."""

import math

import numpy as np

from conformance.findings.arithmetic import cmax, exp, log1p, next_after, to
from tests.findings.helpers import scalar


def test_exp_is_correctly_rounded_into_float32():
    assert exp(np.float32(1)) == np.float32(math.e)


def test_log1p_keeps_a_tiny_argument():
    assert log1p(np.float64(1e-300)) == np.float64(1e-300)


def test_exp_of_a_huge_negative_argument_is_zero_without_hanging():
    assert exp(np.float32(-3e38)) == 0


def test_cmax_is_std_max_a_nan_first_argument_wins():
    assert np.isnan(cmax(np.float64("nan"), np.float64(-100)))
    assert cmax(np.float64(-100), np.float64("nan")) == -100


def test_rounding_keeps_the_sign_of_zero():
    assert np.signbit(to(np.float64(-0.0), "bfloat16"))


def test_next_after_moves_a_finite_value_one_ulp_up():
    assert next_after(np.float32(1)) == np.nextafter(np.float32(1), np.float32(2))


def test_next_after_moves_negative_zero_to_the_smallest_subnormal():
    assert next_after(np.float64(-0.0)) == 5e-324


def test_next_after_moves_infinity_and_nan_to_the_largest_finite_value():
    largest = scalar(np.finfo(np.float16).max, "float16")
    assert next_after(scalar(math.inf, "float16")) == largest
    assert next_after(scalar(math.nan, "float16")) == largest


def test_rounding_an_astronomically_small_number_is_immediate():
    from mpmath import mp

    assert to(mp.exp(-mp.mpf(5.4e16)), "float32") == 0
