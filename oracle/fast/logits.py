"""Fast enclosures of the quantities of binary_cross_entropy_with_logits (oracle.bce_logits_terms).

With t = |x|, u = e^-t (``exp_neg``), s = log(1 + u) and e = u / (1 + u):

    A = softplus(-x) = s (x >= 0) or t + s (x < 0);  B = softplus(x) = t + s or s
    value  = w (p y A + (1 - y) B)          weight     = p y A + (1 - y) B
    target = w ((p - 1) s - t)   (x >= 0)   or w (p t + (p - 1) s)   (x < 0)      [p A - B]
    input  = w ((1 - y)(1 - e) - p y e)     (x >= 0)   or w ((1 - y) e - p y (1 - e))   (x < 0)
    pos_weight = w y A

(the target and input forms are p A - B and (1 - y + p y) sigma(x) - p y rearranged so that no
rounded 1 - e is subtracted from 1). The true u is within relative ETA_EXP of the computed one;
log1p and u / (1 + u) are monotone with ``f(lambda u) <= lambda f(u)`` for lambda >= 1 and
``>= lambda f(u)`` for lambda <= 1 (concave through 0), so s and e widen by the same relative
ETA_EXP (e also by 2^-50 for its two roundings: 2u(1 + u) < 2^-50).
For |x| > 700 (u below the normal range) s and e are only enclosed by [0, 2^-1009], which decides
every quantity whose value is not itself that tiny (those go to the exact path).
Precondition (``eligible``): every argument finite.
"""

from __future__ import annotations

import numpy as np

from oracle.fast import elementary as el
from oracle.fast import intervals as iv


def eligible(x: np.ndarray, y: np.ndarray, w: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & np.isfinite(p)


# For t > 700: 0 < e = u / (1 + u) < s = log(1 + u) < u = e^-t < e^-700 < 2^-1009.
_FAR_TAIL = 2.0**-1009


def _where(cond, a, b):
    return np.where(cond, a[0], b[0]), np.where(cond, a[1], b[1])


def enclose(name: str, x, y, w, p):
    """(lo, hi) enclosing quantity ``name`` at eligible points."""
    t = np.abs(x)
    pos = x >= 0
    far = t > el.EXP_MAX_ARGUMENT
    u = el.exp_neg(np.where(far, 0.0, t))
    if name == "input":
        e = iv.relative(u / (1.0 + u), el.ETA_EXP + 2.0**-50)
        e = np.where(far, 0.0, e[0]), np.where(far, _FAR_TAIL, e[1])
        one_minus_e = iv.down(1.0 - e[1]), iv.up(1.0 - e[0])
        omy = iv.one_minus(y)
        py = iv.product(p, y)
        h_pos = iv.sub(iv.mul(omy, one_minus_e), iv.mul(py, e))
        h_neg = iv.sub(iv.mul(omy, e), iv.mul(py, one_minus_e))
        return iv.mul_point(w, _where(pos, h_pos, h_neg))
    s0 = el.log1p_interval(u)
    s = iv.down(s0[0] * (1.0 - el.ETA_EXP)), iv.up(s0[1] * (1.0 + el.ETA_EXP))  # s > 0
    s = np.where(far, 0.0, s[0]), np.where(far, _FAR_TAIL, s[1])
    ts = iv.add((t, t), s)
    a = _where(pos, s, ts)
    if name == "pos_weight":
        return iv.mul_point(w, iv.mul_point(y, a))
    if name == "target":
        pm1_s = iv.mul(iv.minus_one(p), s)
        g_pos = iv.sub(pm1_s, (t, t))
        g_neg = iv.add(iv.product(p, t), pm1_s)
        return iv.mul_point(w, _where(pos, g_pos, g_neg))
    b = _where(pos, ts, s)
    g = iv.add(iv.mul(iv.product(p, y), a), iv.mul(iv.one_minus(y), b))
    if name == "weight":
        return g
    if name == "value":
        return iv.mul_point(w, g)
    raise ValueError(f"unknown quantity {name!r}")
