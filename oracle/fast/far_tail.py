"""Certified zeros: binary_cross_entropy_with_logits' quantities that round to ±0.

Far from the origin the with-logits quantities are an exact part ``alpha`` plus a vanishing one.
With ``t = |x| > 0``, ``u = e^-t``, ``s = log(1 + u)`` and ``e = u / (1 + u)`` (the forms of
oracle.fast.logits; ``c = 1 - y + p y``):

    quantity     x >= 0                        x < 0
    value        w (1 - y) t + w c s           w p y t + w c s
    weight       (1 - y) t + c s               p y t + c s
    pos_weight   w y s                         w y t + w y s
    target       -w t + w (p - 1) s            w p t + w (p - 1) s
    input        w (1 - y) - w c e             -w p y + w c e

Each is ``alpha + beta xi`` with ``xi`` = s or e, and ``0 < xi < u`` for every t > 0
(log(1 + u) < u and u / (1 + u) < u). Where ``alpha`` is exactly 0 (a factor w, 1 - y, p or y is
exactly 0: decided by comparisons of the floats), the quantity is ``beta xi``, so

* its sign is the sign of ``beta`` (and it is exactly 0 when ``beta`` is), and
* ``|beta xi| < |beta| e^-t < 2^(E_beta - T)`` with ``|beta| < 2^E_beta`` (the frexp exponent
  of an upper bound of |beta|, from the outward-rounded intervals of oracle.fast.intervals) and
  ``T <= t / ln 2`` an integer (``floor(down(t / LN2_UP))``, capped at 2^20; e^-t = 2^(-t/ln 2)).

Times an exact upstream gradient ``g`` (``|g| < 2^E_g``) and divided by a mean's ``N >= 1``,
``|q| < 2^(E_beta + E_g - T)``. A real number below half the smallest subnormal of a format,
``2^(emin - p)``, rounds to zero in it (roundTiesToEven), keeping its sign; an exact zero is +0
(as on the exact path). So an element is decided as ``copysign(0, sign)`` when
``E_beta + E_g - T <= emin - p``: all integers, compared exactly. This is what lets a float32
sweep reach logits of -10^38 without the exact path (whose e^x there has a 10^38-digit exponent).
"""

from __future__ import annotations

import numpy as np

from oracle.fast import assumptions
from oracle.fast import intervals as iv
from oracle.fast.elementary import LN2_UP
from oracle.formats import Format

_NONE = 2  # no certificate: alpha is not exactly 0 (or an argument is not finite)
_T_CAP = float(2**20)  # any smaller integer is still a lower bound of t / ln 2
_ZERO_EXPONENT = -(2**40)  # the exponent bound of an exact zero (below every format's)


def _upper_exponent(hi: np.ndarray) -> np.ndarray:
    """E with ``v < 2^E`` for every ``0 <= v <= hi`` (hi finite, >= 0): frexp's exponent."""
    _, e = np.frexp(hi)
    return e.astype(np.int64)


def _beta(name: str, pos, y, w, p):
    """(alpha is exactly 0, interval of beta) per element."""
    ones = np.ones_like(y)
    w_is0, y_is0, y_is1, p_is0 = w == 0, y == 0, y == 1, p == 0
    c = iv.add(iv.one_minus(y), iv.product(p, y))
    if name in ("value", "weight"):
        scale = w if name == "value" else ones
        zero_alpha = (scale == 0) | np.where(pos, y_is1, p_is0 | y_is0)
        return zero_alpha, iv.mul_point(scale, c)
    if name == "pos_weight":
        zero_alpha = pos | w_is0 | y_is0
        return zero_alpha, iv.product(w, y)
    if name == "target":
        zero_alpha = w_is0 | (~pos & p_is0)
        return zero_alpha, iv.mul_point(w, iv.minus_one(p))
    if name == "input":
        zero_alpha = w_is0 | np.where(pos, y_is1, p_is0 | y_is0)
        beta = iv.mul_point(w, c)
        return zero_alpha, (np.where(pos, -beta[1], beta[0]), np.where(pos, -beta[0], beta[1]))
    raise ValueError(f"unknown quantity {name!r}")


def certificates(name: str, x, y, w, p) -> tuple[np.ndarray, np.ndarray]:
    """Per element (flat float64 arguments; ``w``, ``p`` may be None for ones): ``(sign,
    exponent)`` with the quantity ``q`` exactly 0 (sign 0), or of that sign with
    ``|q| < 2^exponent``; sign 2 where no certificate holds."""
    if assumptions.failures():  # the interval bounds need IEEE round-to-nearest, no FTZ
        return np.full(x.shape, _NONE, dtype=np.int8), np.zeros(x.shape, dtype=np.int64)
    w = np.ones_like(x) if w is None else w
    p = np.ones_like(x) if p is None else p
    with np.errstate(all="ignore"):
        finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & np.isfinite(p)
        t = np.abs(x)
        pos = x >= 0
        zero_alpha, (b_lo, b_hi) = _beta(name, pos, y, w, p)
        sign = np.where(b_lo > 0, 1, np.where(b_hi < 0, -1, _NONE)).astype(np.int8)
        sign = np.where((b_lo == 0) & (b_hi == 0), 0, sign).astype(np.int8)
        magnitude = np.maximum(np.abs(b_lo), np.abs(b_hi))
        t_log2 = np.minimum(np.floor(iv.down(t / LN2_UP)), _T_CAP)
        exponent = _upper_exponent(np.where(np.isfinite(magnitude), magnitude, 0.0))
        exponent = exponent - np.maximum(t_log2, 0.0).astype(np.int64)
        usable = finite & zero_alpha & (t > 0) & np.isfinite(magnitude)
    sign = np.where(usable, sign, _NONE).astype(np.int8)
    exponent = np.where(sign == 0, _ZERO_EXPONENT, exponent)
    return sign, exponent


def decide_zeros(sign, exponent, g, fmt: Format, ok=None):
    """(decided mask, bits in ``fmt``) of ``q g / N`` (any N >= 1) for certificates of ``q``
    and exact float64 upstream gradients ``g`` (None: all ones): ±0 where certified below half
    the smallest subnormal of ``fmt``, +0 where exactly 0."""
    sign = sign.astype(np.int64)
    if g is None:
        g = np.ones(sign.shape)
    with np.errstate(all="ignore"):
        g_zero = g == 0
        g_exp = _upper_exponent(np.where(np.isfinite(g), np.abs(g), 0.0))
        finite_g = np.isfinite(g)
        exact_zero = finite_g & ((sign == 0) | (g_zero & (sign != _NONE)))
        signed = (sign != _NONE) & ~exact_zero & finite_g
        tiny = signed & (exponent + g_exp <= fmt.emin - fmt.precision)
        negative = tiny & ((sign < 0) != (g < 0))
    decided = (exact_zero | tiny) & (True if ok is None else ok) & (not assumptions.failures())
    bits = np.where(negative & decided, np.uint64(1) << np.uint64(fmt.width - 1), np.uint64(0))
    return decided, bits.astype(np.uint64)
