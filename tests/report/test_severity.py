"""Severity for people: relative error and correct bits; ULP only for finite values of one sign."""

from conformance.report.severity import severity
from tests.findings.helpers import one_element_class


def example(got: str, exact: str):
    ex = one_element_class("binary_cross_entropy", "grad_input", "float64", got, x=0, y=1).minimal
    ex.expected = ex.expected_exact = exact
    ex.ulp = 1.84e19
    return ex


def test_zero_against_a_large_value_is_relative_error_one_without_ulp():
    s = severity(example("0.0", "-1e12"), "float64")
    assert s.relative_error == 1.0 and s.correct_bits == 0 and s.ulp is None


def test_close_values_of_one_sign_keep_their_ulp_and_bits():
    s = severity(example("1.0000000000000002", "1.0"), "float64")
    assert s.ulp == 1.84e19 and round(s.correct_bits) == 52


def test_nan_against_a_number_has_no_relative_error():
    s = severity(example("nan", "0.5"), "float64")
    assert s.relative_error is None and s.note == "nan against 0.5"


def test_a_relative_error_beyond_every_float_is_infinite_and_says_so():
    from conformance.report.severity import format_relative_error

    s = severity(example("1e300", "1e-300"), "float64")  # |got - exact| / |exact| = 1e600
    assert s.relative_error == float("inf") and s.correct_bits == 0 and s.ulp is None
    assert format_relative_error(s) == "> 1.8e+308"
