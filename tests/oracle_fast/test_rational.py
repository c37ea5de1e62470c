"""binary_cross_entropy's rational closed forms (oracle.fast.rational) are the exact quantities
of oracle.bce_terms, for every quantity and a spread of inputs, targets and weights."""

from __future__ import annotations

from fractions import Fraction

import pytest

from oracle.bce_terms import bce_quantity
from oracle.fast.rational import bce_rational_quantity

YS = [Fraction(0), Fraction(1), Fraction(1, 2), Fraction(3, 1024), Fraction(1023, 1024)]
WS = [Fraction(0), Fraction(1), Fraction(-3, 2), Fraction(2**100), Fraction(1, 2**140)]


XS = [Fraction(0), Fraction(1), Fraction(1, 2), Fraction(1, 3), Fraction(1, 2**150)]
XS += [Fraction(1, 2**140), Fraction(3, 2**142), Fraction(1023, 1024), Fraction(5, 2**160)]


@pytest.mark.parametrize("name", ["value", "input", "target", "weight"])
@pytest.mark.parametrize("x", XS)
def test_closed_forms_are_the_exact_quantities(name, x):
    for y in YS:
        for w in WS:
            q = bce_rational_quantity(name, x, y, w)
            if q is None:
                continue
            exact = bce_quantity(name, x, y, w)
            assert exact.is_finite and exact.form.is_constant
            assert q == exact.form.const, (name, x, y, w)


def test_closed_forms_cover_the_rational_cases():
    one, half = Fraction(1), Fraction(1, 2)
    for x in (Fraction(0), one, half, Fraction(1, 3)):
        assert bce_rational_quantity("input", x, half, one) is not None
    assert bce_rational_quantity("target", half, half, one) == 0
    assert bce_rational_quantity("value", half, one, one) is None  # w log 2: irrational
    assert bce_rational_quantity("input", Fraction(3, 2**142), half, one) is None  # clamp band
