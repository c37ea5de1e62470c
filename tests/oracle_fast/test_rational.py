"""binary_cross_entropy's closed forms at x = 0 and x = 1 (oracle.fast.rational) are the exact
quantities of oracle.bce_terms, for every quantity and a spread of targets and weights."""

from __future__ import annotations

from fractions import Fraction

import pytest

from oracle.bce_terms import bce_quantity
from oracle.fast.rational import bce_edge_quantity

YS = [Fraction(0), Fraction(1), Fraction(1, 2), Fraction(3, 1024), Fraction(1023, 1024)]
WS = [Fraction(0), Fraction(1), Fraction(-3, 2), Fraction(2**100), Fraction(1, 2**140)]


@pytest.mark.parametrize("name", ["value", "input", "target", "weight"])
@pytest.mark.parametrize("x", [0.0, 1.0])
def test_edge_closed_forms_are_the_exact_quantities(name, x):
    for y in YS:
        for w in WS:
            exact = bce_quantity(name, Fraction(x), y, w)
            assert exact.is_finite and exact.form.is_constant
            assert bce_edge_quantity(name, x, y, w) == exact.form.const, (name, x, y, w)


def test_other_points_have_no_closed_form():
    assert bce_edge_quantity("value", 0.5, Fraction(1), Fraction(1)) is None
