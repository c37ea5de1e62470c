"""Exact is exact: the `expected_exact` digits are correct and round to `expected`."""

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from mpmath import mp

import oracle
from conformance.cases import Case, argument_dtype, result_dtype
from conformance.judge.expectation import expect
from oracle.extended import Ext
from oracle.linear_forms import Form

REPORTS = sorted(Path(__file__).resolve().parents[2].joinpath("reports").glob("*-deep.json"))


def _rounding_dtypes(ex) -> tuple[str, ...]:
    """The dtypes an example's expected value may be rounded to, the readings the judge accepts
    (conformance/judge/expectation.py): a gradient's is its argument's own dtype (a float32
    weight's gradient beside a float64 input is float32) or the promoted one; a value's is the
    promoted dtype or the input's. Without mixed dtypes all are the case's dtype."""
    case = Case.from_json(ex["case"])
    q = ex["quantity"]
    first = argument_dtype(case, q[5:]) if q.startswith("grad_") else case.dtype
    return tuple(dict.fromkeys((first, result_dtype(case))))


def examples(path: Path):
    for run in json.loads(path.read_text())["runs"]:
        for cls in run["divergences"]:
            for ex in (cls["minimal"], cls["worst"]):
                if ex["expected_exact"]:
                    yield _rounding_dtypes(ex), ex


def rounded(text: str, dtype: str):
    """round_to of a decimal, a number beyond 1e±5000 read as a signed 0 or inf directly; a
    negative number that rounds to zero gives -0 (round_to reads the number -0 as 0)."""
    exponent = text.lower().partition("e")[2]
    if exponent and abs(int(exponent)) > 5000:
        far = 0.0 if int(exponent) < 0 else float("inf")
        r = oracle.round_to(-far if text.startswith("-") else far, dtype)
    else:
        r = oracle.round_to(text, dtype)
    return np.copysign(r, -1).astype(r.dtype) if text.strip().startswith("-") and r == 0 else r


def same_rounding(text: str, expected: str, dtypes: tuple[str, ...]) -> bool:
    """``text`` and ``expected`` round alike in one of ``dtypes``."""
    return any(rounded(text, d).tobytes() == rounded(expected, d).tobytes() for d in dtypes)


def test_cancelling_logs_print_every_digit_right():
    value = Ext.finite(Form.log(Fraction(2**40 - 1, 2**40)))  # log(1 - 2^-40), terms near 28
    with mp.workprec(400):
        truth = mp.log1p(-(mp.mpf(2) ** -40))
        assert abs(mp.mpf(value.decimal(30)) / truth - 1) < mp.mpf(10) ** -29


def test_an_astronomically_small_value_prints_as_a_number():
    tiny = Ext.finite(Form.softplus_neg(Fraction(10**17)))  # log(1 + e^-1e17)
    mantissa, _, exponent = tiny.decimal(30).partition("e")
    assert float(mantissa) > 0 and int(exponent) < -(10**16)


def test_an_exact_tie_prints_enough_digits_to_round_like_the_value():
    tie = Ext.finite(Fraction(3, 2**1075))  # halfway between 1 and 2 subnormal units of float64
    assert oracle.round_to(tie.decimal(30), "float64") == 2 * 5e-324


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_oracle_exact_of_every_published_example_rounds_to_expected(path):
    for dtypes, ex in examples(path):
        q = ex["quantity"]
        exp = expect(Case.from_json(ex["case"]), (q[5:],) if q.startswith("grad_") else ())
        exact = exp.quantities[q].exact[tuple(ex["element"])].decimal(30)
        assert same_rounding(exact, ex["expected"], dtypes), (q, ex["expected"], exact)


def test_published_expected_exact_rounds_to_expected():
    bad = [
        ex["expected"]
        for path in REPORTS
        for dtypes, ex in examples(path)
        if not same_rounding(ex["expected_exact"], ex["expected"], dtypes)
    ]
    assert not bad
