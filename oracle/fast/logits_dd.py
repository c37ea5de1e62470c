"""Double-word balls of binary_cross_entropy_with_logits' quantities, for float64 outputs.

With t = |x|, u = e^-t (elementary_dd.exp_neg), s = log(1 + u), e = u / (1 + u), the forms of
oracle.fast.logits:

    A = s (x >= 0) or t + s (x < 0);  B = t + s or s;  a = 1 - e or e;  b = e or 1 - e
    value = w (p y A + (1 - y) B)      weight = p y A + (1 - y) B      pos_weight = w y A
    target = w ((p - 1) s + c)  with c = -t (x >= 0) or p t (x < 0)
    input = w ((1 - y) a - p y b)

``1 - y`` and ``p - 1`` are exact double-words (TwoSum); ``p y`` and ``p t`` are Dekker products
(balls). For t > 700, 0 < e < s < u < 2^-1009: s and e are the ball [0 +- 2^-1009].
Precondition (``eligible``): every argument finite.
"""

from __future__ import annotations

import numpy as np

from oracle.fast import balls as B
from oracle.fast.double_word import two_sum
from oracle.fast.elementary_dd import EXP_MAX_ARGUMENT, exp_neg, log_ball

_FAR_TAIL = 2.0**-1009


def eligible(x: np.ndarray, y: np.ndarray, w: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & np.isfinite(p)


def enclose(name: str, x, y, w, p) -> B.Ball:
    """The ball of quantity ``name`` at eligible points."""
    t = np.abs(x)
    pos = x >= 0
    far = t > EXP_MAX_ARGUMENT
    zero = np.zeros_like(t)
    tail = (zero, zero, np.full_like(t, _FAR_TAIL))
    u = exp_neg(np.where(far, 0.0, t))
    one_plus_u = B.add_float(u, 1.0)
    one_minus_y = B.from_pair(two_sum(np.ones_like(y), -y))
    py = B.mul_float(B.exact(p), y)
    if name == "input":
        e = B.where(far, tail, B.div(u, one_plus_u))
        one_minus_e = B.add_float(B.neg(e), 1.0)
        a = B.where(pos, one_minus_e, e)
        b = B.where(pos, e, one_minus_e)
        return B.mul_float(B.sub(B.mul(one_minus_y, a), B.mul(py, b)), w)
    s = B.where(far, tail, log_ball(one_plus_u))
    if name == "target":
        pm1 = B.from_pair(two_sum(p, -np.ones_like(p)))
        c = B.where(pos, B.exact(-t), B.mul_float(B.exact(p), t))
        return B.mul_float(B.add(B.mul(pm1, s), c), w)
    ts = B.add_float(s, t)
    big_a = B.where(pos, s, ts)
    if name == "pos_weight":
        return B.mul_float(B.mul_float(big_a, y), w)
    big_b = B.where(pos, ts, s)
    g = B.add(B.mul(py, big_a), B.mul(one_minus_y, big_b))
    if name == "weight":
        return g
    if name == "value":
        return B.mul_float(g, w)
    raise ValueError(f"unknown quantity {name!r}")
