"""Element terms of binary_cross_entropy_with_logits and their exact derivatives.

With ``log sigma(x) = -softplus(-x)`` and ``log(1 - sigma(x)) = -softplus(x)`` the documented

    l_n = -w_n [ p_n y_n log sigma(x_n) + (1 - y_n) log(1 - sigma(x_n)) ]

is ``l = w * g`` with ``g = p y A + (1 - y) B``, ``A = softplus(-x) = log(1 + e^{-x})`` and
``B = softplus(x) = x + A``. Every real x, y, p, w is in the domain (the targets "should be"
in [0, 1]; the formula is defined everywhere and evaluated as written). Derivatives:

    d/dx = w * h,   h   = (1 - y + p y) sigma(x) - p y
    d/dy = w * g_y, g_y = p A - B
    d/dw = g
    d/dp = w * g_p, g_p = y A

A NaN in any argument of an element makes every quantity of that element NaN. At a point with
one infinite argument among x, y, p the quantity is its limit (table in docs/semantics.md);
two or more infinite arguments raise UnsupportedPointError.
"""

from __future__ import annotations

import math
from fractions import Fraction

from oracle.errors import UnsupportedPointError
from oracle.extended import Ext
from oracle.limits import Limit, infinite, tends_to_zero, times_weight
from oracle.linear_forms import Form, sign_of

# Which of (x, y, p) each bracket depends on, and whether the weight multiplies it.
_DEPENDS = {
    "value": ("xyp", True),
    "input": ("xyp", True),
    "target": ("xp", True),
    "weight": ("xyp", False),
    "pos_weight": ("xy", True),
}


def _sgn(v: Fraction | float) -> int:
    return (v > 0) - (v < 0)


def _finite_bracket(quantity: str, x: Fraction, y: Fraction, p: Fraction) -> Form:
    a = Form.softplus_neg(x)
    if quantity in ("value", "weight"):
        return a.scale(p * y) + (a + x).scale(1 - y)
    if quantity == "input":
        return Form.sigmoid(x).scale(1 - y + p * y) - p * y
    if quantity == "target":
        return a.scale(p) - (a + x)
    return a.scale(y)  # pos_weight


def _limit_in_x(quantity: str, x_sign: int, y: Fraction, p: Fraction) -> Limit:
    if x_sign > 0:  # A -> 0+, B ~ x -> +inf, sigma -> 1-
        if quantity in ("value", "weight"):
            return infinite(_sgn(1 - y)) if y != 1 else tends_to_zero(p == 0)
        if quantity == "input":
            return Limit(Ext.finite(1 - y), identically=False) if y != 1 else tends_to_zero(p == 0)
        if quantity == "target":
            return infinite(-1)
        return tends_to_zero(y == 0)
    # x -> -inf: A ~ |x| -> +inf, B -> 0+, sigma -> 0+
    if quantity in ("value", "weight"):
        return infinite(_sgn(p * y)) if p * y != 0 else tends_to_zero(y == 1)
    if quantity == "input":
        if p * y != 0:
            return Limit(Ext.finite(-p * y), identically=False)
        return tends_to_zero(y == 1)
    if quantity == "target":
        return infinite(_sgn(p)) if p != 0 else tends_to_zero(False)
    return infinite(_sgn(y)) if y != 0 else tends_to_zero(True)


def _limit_in_y(quantity: str, y_sign: int, x: Fraction, p: Fraction) -> Limit:
    a = Form.softplus_neg(x)
    if quantity in ("value", "weight"):  # g = B + y (p A - B)
        slope = a.scale(p) - (a + x)
        s = sign_of(slope)
        return infinite(y_sign * s) if s else Limit(Ext.finite(a + x))
    if quantity == "input":  # h = sigma + y ((p - 1) sigma - p)
        sigma = Form.sigmoid(x)
        slope = sigma.scale(p - 1) - p
        s = sign_of(slope)
        return infinite(y_sign * s) if s else Limit(Ext.finite(sigma))
    return infinite(y_sign)  # pos_weight: y A with A > 0 (d/dy does not depend on y)


def _limit_in_p(quantity: str, p_sign: int, x: Fraction, y: Fraction) -> Limit:
    if quantity in ("value", "weight"):  # g = p (y A) + (1 - y) B
        return infinite(p_sign * _sgn(y)) if y != 0 else Limit(Ext.finite(Form.softplus_neg(-x)))
    if quantity == "input":  # h = (1 - y) sigma + p y (sigma - 1), sigma - 1 < 0
        return infinite(-p_sign * _sgn(y)) if y != 0 else Limit(Ext.finite(Form.sigmoid(x)))
    return infinite(p_sign)  # target: p A - B with A > 0 (d/dp does not depend on p)


def logits_quantity(
    quantity: str,
    x: Fraction | float,
    y: Fraction | float,
    w: Fraction | float,
    p: Fraction | float,
) -> Ext:
    """One of 'value', 'input', 'target', 'weight', 'pos_weight' for one element."""
    try:
        depends, weighted = _DEPENDS[quantity]
    except KeyError:
        raise ValueError(f"unknown quantity {quantity!r}") from None
    if any(isinstance(v, float) and math.isnan(v) for v in (x, y, w, p)):
        return Ext.nan()  # a NaN argument: the point is not a point of the formula's domain
    args = {"x": x, "y": y, "p": p}
    used = {name: args[name] for name in depends}
    infinite_args = [name for name, v in used.items() if isinstance(v, float)]
    if len(infinite_args) > 1:
        raise UnsupportedPointError(
            f"{' and '.join(infinite_args)} are both infinite in one element: the joint limit of"
            " binary_cross_entropy_with_logits is not decided by this oracle"
        )
    # Arguments the quantity does not depend on are irrelevant: give them a harmless value.
    xf = x if "x" in depends else Fraction(0)
    yf = y if "y" in depends else Fraction(0)
    pf = p if "p" in depends else Fraction(0)
    if not infinite_args:
        q = Limit(Ext.finite(_finite_bracket(quantity, xf, yf, pf)))
    elif infinite_args[0] == "x":
        q = _limit_in_x(quantity, _sgn(xf), yf, pf)
    elif infinite_args[0] == "y":
        q = _limit_in_y(quantity, _sgn(yf), xf, pf)
    else:
        q = _limit_in_p(quantity, _sgn(pf), xf, yf)
    return times_weight(w, q) if weighted else q.value
