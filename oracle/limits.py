"""Limits at infinite arguments, and the product of a weight with a (limit) quantity.

A quantity q(x, y, p) at a point where one argument is infinite is the limit of q as that
argument tends to its value, the others fixed. Besides the limit we keep whether q is
*identically* constant along the approach: that decides ``w * q`` for an infinite weight when
the limit of q is 0 (identically zero: the product is 0 for every finite w, so its limit is 0;
merely tending to zero: ``w * q`` has no limit, NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from oracle.extended import Ext


@dataclass(frozen=True)
class Limit:
    value: Ext
    identically: bool = True


def infinite(sign: int) -> Limit:
    return Limit(Ext.infinity(sign), identically=False)


def tends_to_zero(identically: bool) -> Limit:
    return Limit(Ext.finite(0), identically=identically)


def times_weight(w: Fraction | float, q: Limit) -> Ext:
    """The limit of ``w * q``: ``w`` an exact weight (Fraction, ±inf or NaN), ``q`` a Limit."""
    if isinstance(w, float) and w != w:
        return Ext.nan()
    if q.value.kind == "nan":
        return q.value
    if isinstance(w, Fraction):
        return q.value.scale(w)
    w_sign = 1 if w > 0 else -1
    q_sign = q.value.sign()
    if q_sign == 0:
        return Ext.finite(0) if q.identically else Ext.nan()
    return Ext.infinity(w_sign * q_sign)
