"""Interval arithmetic on float64 arrays with outward rounding.

Each operation computes the IEEE 754 round-to-nearest result ``r`` of its float64 operands and
moves it outward by at least one representable number:

    down(r) = fl(fl(r - fl(|r| * 2^-52)) - 2^-1074),   up(r) = fl(fl(r + fl(|r| * 2^-52)) + 2^-1074)

Proof for ``down`` (``up`` is symmetric). For a normal ``r`` with ``2^k <= |r| < 2^(k+1)`` the
spacing is ``ulp = 2^(k-52) >= 2^-1074``, so ``|r| 2^-52 >= ulp`` and, rounding being monotone
and ``ulp`` representable, ``e = fl(|r| 2^-52) >= ulp``; then ``r - e <= r - ulp``, a
representable number, so ``fl(r - e) <= r - ulp``; subtracting ``2^-1074`` can only lower it.
For a subnormal or zero ``r`` the last step subtracts one subnormal spacing exactly. The
operation that produced ``r`` was within half a spacing of its exact result (half the subnormal
spacing below the normal range: no flush to zero), so ``down(r) <= exact <= up(r)``. An infinite
``r`` gives NaN or an infinite endpoint, and callers treat any non-finite endpoint as undecided.
This costs four cheap operations instead of ``np.nextafter``. Intervals are pairs ``(lo, hi)``
of arrays of one shape. Valid under the assumptions checked by oracle.fast.assumptions.
"""

from __future__ import annotations

import numpy as np

_STEP = 2.0**-52
_TINY = 2.0**-1074


def down(r: np.ndarray) -> np.ndarray:
    """A float64 at least one spacing below ``r``: a lower bound of any exact value that
    rounds to ``r``."""
    return (r - np.abs(r) * _STEP) - _TINY


def up(r: np.ndarray) -> np.ndarray:
    """A float64 at least one spacing above ``r``."""
    return (r + np.abs(r) * _STEP) + _TINY


def point(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact float64 values ``v`` as degenerate intervals."""
    return v, v


def add(a, b):
    return down(a[0] + b[0]), up(a[1] + b[1])


def sub(a, b):
    return down(a[0] - b[1]), up(a[1] - b[0])


def neg(a):
    return -a[1], -a[0]


def mul(a, b):
    """Product of two intervals of any signs (the four endpoint products)."""
    p1, p2, p3, p4 = a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]
    lo = np.minimum(np.minimum(p1, p2), np.minimum(p3, p4))
    hi = np.maximum(np.maximum(p1, p2), np.maximum(p3, p4))
    return down(lo), up(hi)


def mul_point(c: np.ndarray, a):
    """``c * a`` for exact float64 values ``c`` of any sign; exactly 0 where ``c == 0``."""
    p1, p2 = c * a[0], c * a[1]
    lo, hi = down(np.minimum(p1, p2)), up(np.maximum(p1, p2))
    zero = c == 0
    return np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)


def one_minus(v: np.ndarray):
    """``1 - v`` for exact float64 ``v`` (exact, not widened, for v = 0 and 0.5 <= v <= 2:
    Sterbenz's lemma)."""
    r = 1.0 - v
    exact = (v == 0) | ((v >= 0.5) & (v <= 2.0))
    return np.where(exact, r, down(r)), np.where(exact, r, up(r))


def minus_one(v: np.ndarray):
    """``v - 1`` for exact float64 ``v`` (exact for v = 0 and 0.5 <= v <= 2)."""
    lo, hi = one_minus(v)
    return -hi, -lo


def product(a: np.ndarray, b: np.ndarray):
    """``a * b`` for exact float64 values; exactly 0 where a factor is 0."""
    r = a * b
    zero = (a == 0) | (b == 0)
    return np.where(zero, 0.0, down(r)), np.where(zero, 0.0, up(r))


def reciprocal_positive(a):
    """``1 / a`` for an interval with ``0 < lo``."""
    return down(1.0 / a[1]), up(1.0 / a[0])


def divide_point(a, n: float):
    """``a / n`` for an exact float64 ``n > 0`` (an endpoint 0 stays exactly 0)."""
    if n == 1.0:
        return a
    return np.where(a[0] == 0, 0.0, down(a[0] / n)), np.where(a[1] == 0, 0.0, up(a[1] / n))


def relative(v: np.ndarray, eta: float):
    """An interval holding every ``x`` with ``|x - v| <= eta * |v|`` (``eta`` a power of 2)."""
    lo, hi = v * (1.0 - eta), v * (1.0 + eta)
    return down(np.minimum(lo, hi)), up(np.maximum(lo, hi))
