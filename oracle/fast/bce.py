"""Fast enclosures of the quantities of binary_cross_entropy (oracle.bce_terms).

    Lx = max(log x, -100),  L1 = max(log(1 - x), -100)
    value  = -w (y Lx + (1 - y) L1)        weight = -(y Lx + (1 - y) L1)
    target = -w (Lx - L1)                  input  = -w (y D1 - (1 - y) D2)

with D1 = 1/x and D2 = 1/(1 - x), each 0 where its clamp is active. The clamp of log x is
active iff x < e^-100 = 2^-144.27...: x < 2^-145 is clamped (Lx = -100, D1 = 0), x >= 2^-140 is
not, and 2^-145 <= x < 2^-140 is left to the exact path. log(1 - x) is clamped only at x = 1
(for float64 x < 1, 1 - x >= 2^-53 > e^-100). For x < 2^-600, -x - x^2 < log(1 - x) < -x and
x^2 is below half the smallest subnormal, so [down(-x), -x] holds log(1 - x) (exactly 0 at 0).
Precondition (``eligible``): x and y in [0, 1], w finite, x outside [2^-145, 2^-140).
"""

from __future__ import annotations

import numpy as np

from oracle.fast import elementary as el
from oracle.fast import intervals as iv

_CLAMPED_BELOW = 2.0**-145
_UNCLAMPED_FROM = 2.0**-140
_TINY = 2.0**-600


def eligible(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = (x >= 0) & (x <= 1) & (y >= 0) & (y <= 1) & np.isfinite(w)
    return ok & ((x < _CLAMPED_BELOW) | (x >= _UNCLAMPED_FROM))


def _where(cond, a, b):
    return np.where(cond, a[0], b[0]), np.where(cond, a[1], b[1])


def _logs(x: np.ndarray):
    clamped_x = x < _CLAMPED_BELOW
    minus100 = (np.full_like(x, -100.0), np.full_like(x, -100.0))
    log_x = el.log_interval(np.where(clamped_x, 0.5, x))
    lx = _where(clamped_x, minus100, log_x)
    one = x == 1.0
    tiny = x < _TINY
    l1_tiny = np.where(x == 0, 0.0, iv.down(-x)), -x
    l1 = el.log1m_interval(np.where(one | tiny, 0.5, x))
    l1 = _where(one, minus100, _where(tiny, l1_tiny, l1))
    return lx, l1


def enclose(name: str, x, y, w):
    """(lo, hi) enclosing quantity ``name`` at eligible points."""
    omy = iv.one_minus(y)
    if name == "input":
        clamped_x = x < _CLAMPED_BELOW
        d1 = iv.down(1.0 / x), iv.up(1.0 / x)
        d1 = np.where(clamped_x, 0.0, d1[0]), np.where(clamped_x, 0.0, d1[1])
        one = x == 1.0
        d2 = iv.reciprocal_positive(iv.one_minus(np.where(one, 0.5, x)))
        d2 = np.where(one, 0.0, d2[0]), np.where(one, 0.0, d2[1])
        bracket = iv.sub(iv.mul_point(y, d1), iv.mul(omy, d2))
        return iv.mul_point(-w, bracket)
    lx, l1 = _logs(x)
    if name == "target":
        return iv.mul_point(-w, iv.sub(lx, l1))
    bracket = iv.add(iv.mul_point(y, lx), iv.mul(omy, l1))
    if name == "weight":
        return iv.neg(bracket)
    if name == "value":
        return iv.mul_point(-w, bracket)
    raise ValueError(f"unknown quantity {name!r}")
