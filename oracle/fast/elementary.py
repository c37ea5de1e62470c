"""The project's own exp, log1p and log on float64 arrays, each with a proved relative bound.

Only IEEE 754 + - * / (round to nearest, no FMA contraction, no flush to zero: checked by
oracle.fast.assumptions) and exact scalings by powers of two (frexp, ldexp) are used; no libm
function is called. Every function returns a float64 approximation ``v`` and its proof is a
constant ``ETA``: the exact value lies in ``[v - ETA |v|, v + ETA |v|]``. The derivations are in
docs/certification.md (u = 2^-53 below):

* ``exp_neg(t)`` = e^-t for 0 <= t <= 700 (``EXP_MAX_ARGUMENT``): Cody-Waite reduction
  t = k ln2 + r with ln2 = L1 + L2 (L1 with 32 significant bits, so k L1 is exact for k < 2^11),
  |r| <= 0.35 and |r_computed - r| <= 1e-16; e^-r by its Taylor polynomial of degree 13 in Horner
  form (truncation <= 0.35^14 / 14! * e^0.35 < 7e-18; rounding <= gamma_26 e^0.35 plus u e^0.35
  for the rounded coefficients); e^-r >= e^-0.35 > 0.7047, so the relative error is below
  6.5e-15 < ETA_EXP = 2^-46; then times 2^-k, exactly (the result stays normal for t <= 700).
* ``log1p_series(f)`` = log(1 + f) for -0.2929 <= f <= 0.5, f = 0 or |f| >= 2^-1020:
  z = f / (2 + f), log(1 + f) = 2 atanh z = 2 z sum_{j>=0} z^(2j) / (2j + 1), |z| <= 0.2; 11 terms
  (truncation relative < 2e-17), Horner on positive terms (relative gamma_20), z with relative
  error 2u amplified at most 1.05 times by atanh; total below 2.8e-15 < ETA_LOG1P = 2^-47.
* ``log_interval(a)`` = log a for normal a > 0: a = m 2^e with sqrt(1/2) <= m < sqrt 2 (exact),
  log a = e ln2 + log1p(m - 1) (m - 1 exact by Sterbenz), as an interval.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from mpmath import mp

from oracle.fast import intervals as iv


def _mpf_fraction(v) -> Fraction:
    man, exp = v.man_exp
    return Fraction(man) * Fraction(2) ** exp


# ln 2 to 300 bits: |LN2_Q - ln 2| < 2^-290, far below every bound that uses it.
with mp.workprec(300):
    LN2_Q = _mpf_fraction(+mp.ln2)
# Adjacent float64 values around ln 2 (ln 2 is irrational, so strictly between them).
LN2_DN = float(LN2_Q)
if Fraction(LN2_DN) > LN2_Q:
    LN2_DN = float(np.nextafter(LN2_DN, 0.0))
LN2_UP = float(np.nextafter(LN2_DN, 1.0))
# Cody-Waite split: L1 = ln 2 truncated to 32 bits after the point (<= 32 significant bits).
LN2_1 = float(Fraction(int(LN2_Q * 2**32), 2**32))
LN2_2 = float(LN2_Q - Fraction(LN2_1))  # |LN2_2 - (ln2 - L1)| <= 2^-85
INV_LN2 = float(1 / LN2_Q)  # only chooses k; its accuracy does not enter any bound

EXP_MAX_ARGUMENT = 700.0
EXP_DEGREE = 13
ETA_EXP = 2.0**-46
# Coefficients 1/j!, each correctly rounded (relative error <= u; accounted for in ETA_EXP).
_EXP_COEFFS = [
    float(Fraction(1, _factorial))
    for _factorial in [
        1,
        1,
        2,
        6,
        24,
        120,
        720,
        5040,
        40320,
        362880,
        3628800,
        39916800,
        479001600,
        6227020800,
    ]
]

LOG1P_TERMS = 11
ETA_LOG1P = 2.0**-47
# Coefficients 1/(2j+1), correctly rounded.
_ATANH_COEFFS = [float(Fraction(1, 2 * j + 1)) for j in range(LOG1P_TERMS)]
# m below this is doubled: m in [SQRT_HALF, 2 SQRT_HALF) = [0.7071..., 1.4142...).
SQRT_HALF = 0.7071067811865476


def exp_neg(t: np.ndarray) -> np.ndarray:
    """e^-t for 0 <= t <= EXP_MAX_ARGUMENT (the caller's precondition), relative error ETA_EXP."""
    k = np.rint(t * INV_LN2)
    r = (t - k * LN2_1) - k * LN2_2  # k * LN2_1 exact: k < 2^11 and LN2_1 has 32 bits
    s = -r
    acc = np.full_like(s, _EXP_COEFFS[EXP_DEGREE])
    for c in reversed(_EXP_COEFFS[:EXP_DEGREE]):
        acc = acc * s + c
    # 2^-k built from its bit pattern (normal: 0 <= k <= 1010); the product is exact
    return acc * ((1023 - k.astype(np.int64)) << 52).view(np.float64)


def log1p_series(f: np.ndarray) -> np.ndarray:
    """log(1 + f) for -0.2929 <= f <= 0.5 with f == 0 or |f| >= 2^-1020; relative ETA_LOG1P."""
    z = f / (2.0 + f)
    w = z * z
    acc = np.full_like(w, _ATANH_COEFFS[LOG1P_TERMS - 1])
    for c in reversed(_ATANH_COEFFS[: LOG1P_TERMS - 1]):
        acc = acc * w + c
    return (2.0 * z) * acc


def _reduced(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(e, f) with a = 2^e (1 + f) exactly, sqrt(1/2) <= 1 + f < sqrt 2, for normal a > 0."""
    m, e = np.frexp(a)  # a = m 2^e, 0.5 <= m < 1, exact
    low = m < SQRT_HALF
    m = np.where(low, 2.0 * m, m)  # exact
    return np.where(low, e - 1, e).astype(np.float64), m - 1.0  # m - 1 exact (Sterbenz)


def _k_ln2_plus_log1p(k: np.ndarray, f: np.ndarray):
    """An interval holding k ln 2 + log(1 + f) (k integer-valued, f in log1p_series' domain)."""
    return iv.add(_times_ln2(k), iv.relative(log1p_series(f), ETA_LOG1P))


def log_interval(a: np.ndarray):
    """An interval holding log a for normal float64 a > 0 (the caller's precondition)."""
    return _k_ln2_plus_log1p(*_reduced(a))


def _times_ln2(e: np.ndarray):
    """An interval holding e * ln 2 for integer-valued float64 e (any sign; exactly 0 at 0)."""
    a, b = e * LN2_DN, e * LN2_UP
    zero = e == 0
    lo = np.where(zero, 0.0, iv.down(np.minimum(a, b)))
    return lo, np.where(zero, 0.0, iv.up(np.maximum(a, b)))


def log1p_interval(u: np.ndarray):
    """An interval holding log(1 + u) for float64 2^-1020 <= u <= 1."""
    small = u <= 0.5
    # log(1 + u) = ln 2 + log1p((u - 1) / 2) for u > 0.5; u - 1 exact (Sterbenz), halving exact
    f = np.where(small, u, 0.5 * (u - 1.0))
    return _k_ln2_plus_log1p(np.where(small, 0.0, 1.0), f)


def log_pair_interval(a: np.ndarray):
    """Intervals holding log a and log(1 - a) for float64 2^-1020 <= a <= 0.5 (a normal).

    Both logarithms share one pass: log a = e ln 2 + log1p(m - 1) as in log_interval, and
    log(1 - a) = log1p(-a) for a <= 0.2929, -ln 2 + log1p(1 - 2a) above (1 - 2a exact by
    Sterbenz: 2a in [0.5858, 1]). Only a needs the frexp reduction.
    """
    near0 = a <= 0.2929
    k_b = np.where(near0, 0.0, -1.0)
    f_b = np.where(near0, -a, 1.0 - 2.0 * a)
    return _k_ln2_plus_log1p(*_reduced(a)), _k_ln2_plus_log1p(k_b, f_b)


def log1m_interval(x: np.ndarray):
    """An interval holding log(1 - x) for float64 2^-1020 <= x < 1 (or x == 0)."""
    near0 = x <= 0.2929
    mid = (x > 0.2929) & (x < 0.5)
    # 0.5 <= x < 1: 1 - x exact (Sterbenz) and normal; reduce it like log_interval.
    e, f_high = _reduced(np.where(near0 | mid, 0.75, 1.0 - x))
    # 0.2929 < x < 0.5: log(1 - x) = -ln 2 + log1p(1 - 2x), 1 - 2x exact (Sterbenz).
    k = np.where(near0, 0.0, np.where(mid, -1.0, e))
    f = np.where(near0, -x, np.where(mid, 1.0 - 2.0 * x, f_high))
    return _k_ln2_plus_log1p(k, f)
