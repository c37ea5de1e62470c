"""exp(-t) and log as double-word balls (oracle.fast.balls), for float64 outputs.

Only IEEE 754 + - * /, exact scalings by powers of two and the error-free transformations are
used; no libm. Constants and tables are computed once from exact rationals and mpmath at 400
bits, each with an explicit radius. Truncation errors are bounded on paper (docs/
certification.md, section 10.4); rounding errors are carried by the balls at run time.

* ``exp_neg(t)`` = e^-t for float64 0 <= t <= 700: k = rint(t 64 / ln 2), t = k (ln 2)/64 + r with
  (ln 2)/64 = C1 + C2 + C3 (C1 on 36 bits, so k C1 is exact for k < 2^17), |r| <= 0.00542;
  e^-t = 2^-q 2^(-j/64) e^-r (k = 64 q + j); e^-r by its degree-9 Taylor polynomial, the terms of
  degree >= 5 in float64 (a ball of radius 2^-55 around their float value), truncation
  <= 0.00542^10 / 10! < 2^-96.
* ``log_ball(X)`` = log X for a ball X with 2^-1000 <= X_h <= 2^1000 and r_X <= 2^-20 X_h:
  X_h = m 2^e with sqrt(1/2) <= m < sqrt 2 (exact), i = rint(256 m), c = RN(256 / i) (table),
  rho = m c - 1 + (X_l 2^-e) c exactly up to one rounding (|rho| <= 0.00277, checked at import),
  log X = e ln 2 - log c + log1p(rho), log1p(rho) = 2 atanh z, z = rho / (2 + rho),
  atanh z / z = sum w^j / (2j + 1) with w = z^2 <= 2^-18.9: the terms j <= 2 as balls, j = 3..5
  in float64 (radius 2^-52), truncation w^6 / 13 / (1 - w) < 2^-117.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from mpmath import mp

from oracle.fast import balls as B
from oracle.fast import intervals as iv
from oracle.fast.double_word import two_prod, two_sum

_PREC = 400
_ERR = Fraction(1, 2**380)  # bound on mpmath's error at 400 bits, far below every use


def _q(v) -> Fraction:
    """The exact value of a finite mpf."""
    sign, man, exp, _ = v._mpf_
    return (-1) ** sign * Fraction(man) * Fraction(2) ** exp


with mp.workprec(_PREC):
    _LN2 = _q(+mp.ln2)
    LN2 = B.constant(_LN2, _ERR)
    # (ln 2)/64 = C1 + C2 + C3 + delta: C1 = (ln 2)/64 truncated to 42 bits after the point
    _C = _LN2 / 64
    _C1 = Fraction(int(_C * 2**42), 2**42)
    C1 = float(_C1)
    C2 = float(_C - _C1)
    C3 = float(_C - _C1 - Fraction(C2))
    _C_REST = abs(_C - _C1 - Fraction(C2) - Fraction(C3)) + _ERR / 64
    # 2^(-j/64), j = 0..63
    _EXP2 = [B.constant(Fraction(1))] + [
        B.constant(_q(mp.power(2, mp.mpf(-j) / 64)), _ERR) for j in range(1, 64)
    ]
    # log table: i = 181..362, c_i = RN(256 / i), entries -log(c_i) (exactly 0 at i = 256)
    _I0, _I1 = 181, 362
    _INV = [float(Fraction(256, i)) for i in range(_I0, _I1 + 1)]
    _NLOG = [
        B.constant(Fraction(0)) if c == 1.0 else B.constant(-_q(mp.log(mp.mpf(c))), _ERR)
        for c in _INV
    ]
EXP_MAX_ARGUMENT = 700.0
K_MAX = 64 * 1010 + 64  # k <= 700 * 64 / ln 2 + 1/2 < 64640
assert C1 * 2**42 == int(C1 * 2**42) and C1 < 2**-6  # C1 on at most 36 significant bits
# |k (C - C1 - C2 - C3)| + |RN(k C3) - k C3| for 0 <= k <= K_MAX, below 2^-120:
_R_REDUCTION = B._float_up(K_MAX * (_C_REST + abs(Fraction(C3)) * Fraction(1, 2**53)))
assert _R_REDUCTION < 2.0**-120
_EXP2_H, _EXP2_L, _EXP2_R = (np.array(col) for col in zip(*_EXP2, strict=True))
_INV_A = np.array(_INV)
_NLOG_H, _NLOG_L, _NLOG_R = (np.array(col) for col in zip(*_NLOG, strict=True))
_SIXTH = B.constant(Fraction(1, 6))
_TWENTYFOURTH = B.constant(Fraction(1, 24))
_THIRD = B.constant(Fraction(1, 3))
_FIFTH = B.constant(Fraction(1, 5))
_INV_64_LN2 = float(64 / _LN2)  # only chooses k
SQRT_HALF = 0.7071067811865476  # RN(sqrt(1/2)) > sqrt(1/2)
_TINY_RHO = 2.0**-900  # log1p(rho) = rho within Lemma R's slack below this (log_ball)


def _reduction_bound() -> Fraction:
    """max |m c_i - 1| over m in [SQRT_HALF, 2 SQRT_HALF) with i = rint(256 m), exactly."""
    worst = Fraction(0)
    lo_m, hi_m = Fraction(SQRT_HALF), 2 * Fraction(SQRT_HALF)
    for i, c in zip(range(_I0, _I1 + 1), _INV, strict=True):
        a = max(lo_m, Fraction(2 * i - 1, 512))
        b = min(hi_m, Fraction(2 * i + 1, 512))
        for m in (a, b):
            worst = max(worst, abs(m * Fraction(c) - 1))
    return worst


RHO_MAX = 0.00277
assert _reduction_bound() + Fraction(1, 2**50) <= Fraction(RHO_MAX)


def _tail_ball(value: np.ndarray, radius: float, arg_radius: np.ndarray) -> B.Ball:
    """A float64 tail value as a ball of the proved ``radius``; that proof assumes the radius of
    the argument it was evaluated at is at most 2^-60 (else +inf)."""
    r = np.where(arg_radius <= 2.0**-60, radius, np.inf)
    return value, np.zeros_like(value), r


def exp_neg(t: np.ndarray) -> B.Ball:
    """A ball holding e^-t for float64 0 <= t <= 700 (the caller's precondition)."""
    k = np.rint(t * _INV_64_LN2)  # 0 <= k <= 64640: |t - k (ln 2)/64| <= 0.5 (ln 2)/64 (1 + 2^-40)
    ki = k.astype(np.int64)
    j, q = ki & 63, ki >> 6
    r = B.from_pair(two_sum(t, -(k * C1)))  # k C1 exact
    r = B.sub(r, B.from_pair(two_prod(k, np.full_like(k, C2))))
    r = B.add_float(r, -(k * C3))
    r = (r[0], r[1], B.radius_up(r[2] + _R_REDUCTION))
    s = B.neg(r)  # |s| <= 0.00542
    sh = s[0]
    tail = ((((1 / 362880) * sh + 1 / 40320) * sh + 1 / 5040) * sh + 1 / 720) * sh + 1 / 120
    p = B.mul(s, _tail_ball(tail, 2.0**-55, s[2]))
    p = B.mul(s, B.add(p, _TWENTYFOURTH))
    p = B.mul(s, B.add(p, _SIXTH))
    p = B.mul(s, B.add_float(p, 0.5))
    p = B.mul(s, B.add_float(p, 1.0))
    p = B.add_float(p, 1.0)
    p = (p[0], p[1], B.radius_up(p[2] + 2.0**-96))  # truncation after degree 9
    p = B.mul(p, (_EXP2_H[j], _EXP2_L[j], _EXP2_R[j]))
    return B.scale_pow2(p, -q)


def log_ball(x: B.Ball) -> B.Ball:
    """A ball holding log X for X in the ball ``x`` (2^-1000 <= x_h <= 2^1000,
    r_x <= 2^-20 x_h; else the radius is +inf)."""
    xh = x[0]
    bad = ~((xh >= 2.0**-1000) & (xh <= 2.0**1000) & (x[2] <= xh * 2.0**-20))
    xh = np.where(bad, 1.0, xh)
    mant, e = np.frexp(xh)
    low = mant < SQRT_HALF
    m = np.where(low, 2.0 * mant, mant)
    e = np.where(low, e - 1, e)
    ml = x[1] * ((1023 - e.astype(np.int64)) << 52).view(np.float64)  # X_l 2^-e (to 2^-1075)
    i = np.rint(m * 256.0).astype(np.int64) - _I0
    c = _INV_A[i]
    ph, pl = two_prod(m, c)  # exact: m, c near 1
    rho = B.from_pair(two_sum(ph - 1.0, pl))  # ph - 1 exact (Sterbenz)
    mlc = ml * c
    rho = B.add(rho, (mlc, np.zeros_like(mlc), B.radius_up(B.U * np.abs(mlc))))
    z = B.div(rho, B.add_float(rho, 2.0))
    w = B.mul(z, z)
    wh = w[0]
    tail = (wh * (1 / 11) + 1 / 9) * wh + 1 / 7
    q = B.mul(w, _tail_ball(tail, 2.0**-52, w[2]))
    q = B.mul(w, B.add(q, _FIFTH))
    q = B.mul(w, B.add(q, _THIRD))
    q = B.add_float(q, 1.0)
    q = (q[0], q[1], B.radius_up(q[2] + 2.0**-117))  # truncation after j = 5
    lp = B.mul(z, q)
    lp = (2.0 * lp[0], 2.0 * lp[1], 2.0 * lp[2])
    # |rho| <= 2^-900 (rho = X_l 2^-e c_i where m c_i = 1, e.g. X = 1 + e^-t for t < 2^-900): the
    # division above refuses such quotients. |log(1 + r) - r| <= r^2 for |r| <= 1/2, and every r
    # of the ball has |r| <= M = |rho_h| + |rho_l| + r_rho <= 2^-900, so log1p lies in the ball
    # (rho_h, rho_l, r_rho + M^2), and M^2 <= 2^-1800 is inside Lemma R's absolute slack 2^-1000.
    tiny = np.abs(rho[0]) + np.abs(rho[1]) + rho[2] <= _TINY_RHO
    lp = B.where(tiny, (rho[0], rho[1], B.radius_up(rho[2])), lp)
    head = B.add(B.mul_float(LN2, e.astype(np.float64)), (_NLOG_H[i], _NLOG_L[i], _NLOG_R[i]))
    out = B.add(head, lp)
    # the argument's radius: |log X - log x~| <= r_x / (x~ - r_x) <= r_x / x_h (1 + 2^-19)
    spread = iv.up(iv.up(x[2] * iv.up(1.0 / xh)) * (1.0 + 2.0**-18))
    r = B.radius_up(out[2] + spread)
    return out[0], out[1], np.where(bad, np.inf, r)
