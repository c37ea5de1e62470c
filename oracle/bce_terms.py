"""Element terms of binary_cross_entropy and their exact derivatives.

    l_n = -w_n [ y_n * max(log x_n, -100) + (1 - y_n) * max(log(1 - x_n), -100) ]

Domain: x_n, y_n in [0, 1] (checked by the caller); w_n any extended real. "BCELoss clamps its
log function outputs to be greater than or equal to -100"; where a clamp is active its term is the
constant -100 and its derivative is 0. ``log a = -100`` never happens for a rational ``a`` (e^-100
is irrational), so a clamp is either strictly active or strictly inactive.

Derivatives of l_n:
    d/dx = -w [ y * D1 - (1 - y) * D2 ],  D1 = 1/x (0 if clamped), D2 = 1/(1-x) (0 if clamped)
    d/dy = -w [ max(log x, -100) - max(log(1 - x), -100) ]
    d/dw = -[ y * max(log x, -100) + (1 - y) * max(log(1 - x), -100) ]
"""

from __future__ import annotations

import math
from fractions import Fraction

from oracle.extended import Ext
from oracle.limits import Limit, times_weight
from oracle.linear_forms import Form, sign_of

CLAMP = Fraction(-100)
# e^-100 = 3.7200759760...e-44 lies strictly between these two rationals.
_BELOW_E100 = Fraction(37, 10**45)
_ABOVE_E100 = Fraction(38, 10**45)


def clamped_log(a: Fraction) -> tuple[Form, bool]:
    """``max(log a, -100)`` for rational ``a`` in [0, 1], and whether the clamp is active."""
    if a == 0 or a < _BELOW_E100:
        return Form.constant(CLAMP), True
    log_a = Form.log(a)
    if a > _ABOVE_E100 or sign_of(log_a - CLAMP) > 0:
        return log_a, False
    return Form.constant(CLAMP), True


def bce_quantity(quantity: str, x: Fraction, y: Fraction, w: Fraction | float) -> Ext:
    """One of 'value', 'input', 'target', 'weight' (the derivative wrt that argument)."""
    if isinstance(w, float) and math.isnan(w):
        return Ext.nan()  # NaN anywhere in the element makes every quantity NaN
    log_x, clamped_x = clamped_log(x)
    log_1mx, clamped_1mx = clamped_log(1 - x)
    if quantity == "weight":
        return Ext.finite(-(log_x.scale(y) + log_1mx.scale(1 - y)))
    if quantity == "value":
        bracket = -(log_x.scale(y) + log_1mx.scale(1 - y))
    elif quantity == "input":
        d1 = Fraction(0) if clamped_x else 1 / x
        d2 = Fraction(0) if clamped_1mx else 1 / (1 - x)
        bracket = Form.constant(-(y * d1 - (1 - y) * d2))
    elif quantity == "target":
        bracket = -(log_x - log_1mx)
    else:
        raise ValueError(f"unknown quantity {quantity!r}")
    return times_weight(w, Limit(Ext.finite(bracket)))
