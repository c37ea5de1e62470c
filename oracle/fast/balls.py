"""Double-word balls: per element a center ``h + l`` (a normalized double-word,
``|l| <= u |h|``) and a float64 radius ``r`` with ``|exact - (h + l)| <= r``.

Each operation computes the center with the error-free transformations of
oracle.fast.double_word and a radius that bounds (a) the propagated radii of its operands and
(b) the rounding error of the center, from quantities computed at run time (no a-priori
constant): the rounding errors of the few float64 operations that are not error-free are at most
``u |result|`` (``u = 2^-53``), or ``2^-1075`` for a product in the subnormal range. The radius
expression is evaluated in round-to-nearest and passed through ``radius_up``:

    radius_up(S) = RN(RN(S (1 + 2^-40)) + 2^-1000)

which is at least the exact value of the expression plus ``2^-1002`` (Lemma R, docs/
certification.md section 10.2: at most 16 terms, each a float or a product of two nonnegative
floats, and a factor (1 + u)^8). The absolute slack ``2^-1000`` absorbs every underflow error, so
no operation needs a guard against underflow except Dekker's product, whose exactness does
(products below ``2^-968`` take the center ``RN(x_h y_h)``, within ``2^-1018`` of the product).
Overflow or a violated precondition gives an infinite or NaN radius: the element is undecided.
Balls are tuples ``(h, l, r)`` of arrays of one shape (or scalars for constants).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from oracle.fast import intervals as iv
from oracle.fast.double_word import fast_two_sum, two_prod, two_sum

U = 2.0**-53
_MARGIN = 1.0 + 2.0**-40
_SLACK = 2.0**-1000
_SMALL_PRODUCT = 2.0**-968
_BIG_FACTOR = 2.0**995
_HUGE_SHIFT = 64  # factors above _BIG_FACTOR are multiplied as (x 2^-64) y, then times 2^64
_BIG_PRODUCT = 2.0**1020

Ball = tuple  # (h, l, r)


def radius_up(s: np.ndarray) -> np.ndarray:
    """An upper bound of the radius expression evaluated as ``s`` (Lemma R)."""
    return s * _MARGIN + _SLACK


def exact(h, l=0.0) -> Ball:  # noqa: E741
    """The exact double-word ``h + l`` (normalized by the caller) as a ball of radius 0."""
    return h, l + np.zeros_like(h), np.zeros_like(h)


def from_pair(pair) -> Ball:
    """The exact value ``s + e`` of an error-free transformation's result, radius 0."""
    return pair[0], pair[1], np.zeros_like(pair[0])


def _float_up(q: Fraction) -> float:
    f = float(q)
    return f if Fraction(f) >= q else float(np.nextafter(f, np.inf))


def constant(q: Fraction, err: Fraction = Fraction(0)) -> tuple[float, float, float]:
    """A scalar ball holding every real within ``err`` of the rational ``q``."""
    h = float(q)
    l = float(q - Fraction(h))  # noqa: E741
    return h, l, _float_up(abs(q - Fraction(h) - Fraction(l)) + err)


def neg(x: Ball) -> Ball:
    return -x[0], -x[1], x[2]


def where(cond: np.ndarray, a: Ball, b: Ball) -> Ball:
    return tuple(np.where(cond, ai, bi) for ai, bi in zip(a, b, strict=True))


def add(x: Ball, y: Ball) -> Ball:
    """x + y: three TwoSums and two rounded additions c, w; error <= u(|c| + |w|)."""
    sh, sl = two_sum(x[0], y[0])
    th, tl = two_sum(x[1], y[1])
    c = sl + th
    vh, vl = two_sum(sh, c)
    w = tl + vl
    zh, zl = two_sum(vh, w)
    return zh, zl, radius_up(x[2] + y[2] + U * np.abs(c) + U * np.abs(w))


def sub(x: Ball, y: Ball) -> Ball:
    return add(x, neg(y))


def add_float(x: Ball, f) -> Ball:
    """x + f for exact floats f: TwoSum, one rounded addition c (error <= u|c|), TwoSum."""
    sh, sl = two_sum(x[0], f)
    c = sl + x[1]
    zh, zl = two_sum(sh, c)
    return zh, zl, radius_up(x[2] + U * np.abs(c))


def _product_guard(ah, bh, ph) -> np.ndarray:
    """Where Dekker's product may overflow (the radius becomes +inf there)."""
    return (np.abs(ah) > _BIG_FACTOR) | (np.abs(bh) > _BIG_FACTOR) | ~(np.abs(ph) <= _BIG_PRODUCT)


def _scaled_down(x: Ball) -> tuple[Ball, np.ndarray]:
    """x 2^-64 where |x_h| > 2^995 (exact center, normal: above 2^931), else x unchanged."""
    big = np.abs(x[0]) > _BIG_FACTOR
    if not big.any():
        return x, big
    return where(big, scale_pow2(x, np.where(big, -_HUGE_SHIFT, 0)), x), big


def _scaled_up(z: Ball, shift: np.ndarray) -> Ball:
    """z 2^shift (shift 0 or a multiple of 64) where shift > 0: exact for the center (a power
    of two times a float, unless it overflows), the radius rounded up; +inf radius where the
    center overflowed."""
    if not shift.any():
        return z
    up = scale_pow2(z, shift)
    zh, zl, r = where(shift > 0, up, z)
    return zh, zl, np.where(np.isfinite(zh) & np.isfinite(zl), r, np.inf)


def mul(x: Ball, y: Ball) -> Ball:
    """x y: (p_h, p_l) = TwoProd(x_h, y_h) (exact), a = RN(x_h y_l), b = RN(x_l y_h),
    c = RN(a + b), d = RN(p_l + c), (z_h, z_l) = Fast2Sum(p_h, d) (|d| <= 3.1 u |p_h|);
    center error <= u(|a| + |b| + |c| + |d|) + |x_l y_l| + 2 * 2^-1075; radius adds
    |x_h| r_y + |y_h| r_x + r_x r_y (times (1 + u), Lemma R). A factor with |h| > 2^995 is
    first scaled by 2^-64 and the product by 2^64 (docs/certification.md 10.3: both scalings
    are exact on the centers, so the ball of the scaled product, scaled, holds x y)."""
    x, big_x = _scaled_down(x)
    y, big_y = _scaled_down(y)
    shift = (big_x.astype(np.int64) + big_y.astype(np.int64)) * _HUGE_SHIFT
    return _scaled_up(_mul(x, y), shift)


def _mul(x: Ball, y: Ball) -> Ball:
    ph, pl = two_prod(x[0], y[0])
    a = x[0] * y[1]
    b = x[1] * y[0]
    c = a + b
    d = pl + c
    zh, zl = fast_two_sum(ph, d)
    small = np.abs(ph) < _SMALL_PRODUCT  # Dekker's product may be inexact: center RN(x_h y_h)
    zh = np.where(small, ph, zh)
    zl = np.where(small, 0.0, zl)
    err = U * (np.abs(a) + np.abs(b) + np.abs(c) + np.abs(d)) + np.abs(x[1]) * np.abs(y[1])
    prop = np.abs(x[0]) * y[2] + np.abs(y[0]) * x[2] + x[2] * y[2]
    r = radius_up(prop + err)
    return zh, zl, np.where(_product_guard(x[0], y[0], ph), np.inf, r)


def mul_float(x: Ball, f) -> Ball:
    """x f for exact floats f: TwoProd(x_h, f), b = RN(x_l f), d = RN(p_l + b), Fast2Sum;
    center error <= u(|b| + |d|) + 2^-1075; radius adds |f| r_x."""
    f = np.asarray(f, dtype=np.float64)
    x, big_x = _scaled_down(x)
    big_f = np.abs(f) > _BIG_FACTOR
    f = np.where(big_f, f * 2.0**-_HUGE_SHIFT, f)  # exact: the result is above 2^931
    shift = (big_x.astype(np.int64) + big_f.astype(np.int64)) * _HUGE_SHIFT
    return _scaled_up(_mul_float(x, f), shift)


def _mul_float(x: Ball, f: np.ndarray) -> Ball:
    ph, pl = two_prod(x[0], f)
    b = x[1] * f
    d = pl + b
    zh, zl = fast_two_sum(ph, d)
    small = np.abs(ph) < _SMALL_PRODUCT
    zh = np.where(small, ph, zh)
    zl = np.where(small, 0.0, zl)
    r = radius_up(np.abs(f) * x[2] + U * (np.abs(b) + np.abs(d)))
    return zh, zl, np.where(_product_guard(x[0], f, ph), np.inf, r)


def scale_pow2(x: Ball, k: np.ndarray) -> Ball:
    """x 2^k for integer arrays k with -1022 <= k <= 1023 (2^k normal) whose result center is
    normal: h 2^k exact, l 2^k within 2^-1075, r 2^k rounded up (Lemma R)."""
    s = ((1023 + k.astype(np.int64)) << 52).view(np.float64)
    return x[0] * s, x[1] * s, radius_up(x[2] * s)


_DIV_MIN, _DIV_MAX = 2.0**-900, 2.0**900
_QUOTIENT_MAX = 2.0**990
_QUOTIENT_MIN = 2.0**-960


def div(x: Ball, y: Ball) -> Ball:
    """x / y. q_h = RN(x_h / y_h); (p_h, p_l) = TwoProd(q_h, y_h) (exact); the residual
    R = x_h + x_l - q_h (y_h + y_l) is computed as RN(RN(RN(x_h - p_h) - p_l) + RN(x_l - RN(q_h y_l)))
    within u(|t_1| + |t_2| + |t_3| + |t_4| + |R^|) + 2^-1075; q_l = RN(R^ / y_h);
    (z_h, z_l) = Fast2Sum(q_h, q_l). Exactly x/y = q_h + R / y, so the center error is at most
    (|R - R^| + |R^| |y_l / y_h|) / |y| + u |q_l| + 2^-1075 (docs section 10.3). The radius adds
    (r_x + |x / y| r_y) / (|y| - r_y), for r_y <= 2^-20 |y_h|; bounds are chained with
    intervals.up. Preconditions (else radius +inf): 2^-900 <= |y_h| <= 2^900,
    |q_h| <= 2^990, and x_h = 0 or (|q_h| >= 2^-960 and |p_h| >= 2^-968)."""
    yh = y[0]
    ay = np.abs(yh)
    qh = x[0] / yh
    ph, pl = two_prod(qh, yh)
    t1 = x[0] - ph
    t2 = t1 - pl
    t3 = qh * y[1]
    t4 = x[1] - t3
    rr = t2 + t4
    ql = rr / yh
    zh, zl = fast_two_sum(qh, ql)
    inv = iv.up(1.0 / ay)  # >= 1 / |y_h|
    t_sum = np.abs(t1) + np.abs(t2) + np.abs(t3) + np.abs(t4) + 2.0 * np.abs(rr)
    t_up = iv.up(t_sum * (1.0 + 2.0**-45))  # >= the exact sum of the |t_i| and 2|R^|
    center = iv.up(t_up * inv) * U + iv.up(2.0**-1074 * inv) + (2.0 * U) * np.abs(ql)
    abs_q = iv.up(np.abs(x[0]) * inv) * (1.0 + 2.0**-50)  # >= |x| / |y| (normal here)
    prop = iv.up(iv.up(x[2] + iv.up(abs_q * y[2])) * inv) * (1.0 + 2.0**-17)
    r = radius_up(center + prop)
    bad = ~((ay >= _DIV_MIN) & (ay <= _DIV_MAX) & (np.abs(qh) <= _QUOTIENT_MAX))
    bad |= ~(y[2] <= ay * 2.0**-20)
    bad |= (x[0] != 0) & ~((np.abs(qh) >= _QUOTIENT_MIN) & (np.abs(ph) >= _SMALL_PRODUCT))
    return zh, zl, np.where(bad, np.inf, r)
