"""Interval arithmetic on float64 arrays with outward rounding by one ulp.

Each operation computes the IEEE 754 round-to-nearest result ``r`` of its float64 operands and
steps it one representable number outward with ``np.nextafter``. Round-to-nearest is within half
an ulp of the exact result (within half the subnormal spacing below the normal range, since
subnormals are not flushed), so the stepped endpoint is on the correct side of the exact value.
Overflow gives an infinite endpoint (the caller treats any non-finite endpoint as undecided);
NaN (inf - inf, 0 * inf) likewise. Intervals are pairs ``(lo, hi)`` of arrays of one shape.
Valid under the assumptions checked by oracle.fast.assumptions.
"""

from __future__ import annotations

import numpy as np

_NEG_INF = -np.inf
_POS_INF = np.inf


def down(r: np.ndarray) -> np.ndarray:
    """The float64 below ``r``: a lower bound of any exact value that rounds to ``r``."""
    return np.nextafter(r, _NEG_INF)


def up(r: np.ndarray) -> np.ndarray:
    """The float64 above ``r``: an upper bound of any exact value that rounds to ``r``."""
    return np.nextafter(r, _POS_INF)


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
    """``a / n`` for an exact float64 ``n > 0``."""
    if n == 1.0:
        return a
    return down(a[0] / n), up(a[1] / n)


def relative(v: np.ndarray, eta: float):
    """An interval holding every ``x`` with ``|x - v| <= eta * |v|`` (``eta`` a power of 2)."""
    lo, hi = v * (1.0 - eta), v * (1.0 + eta)
    return down(np.minimum(lo, hi)), up(np.maximum(lo, hi))
