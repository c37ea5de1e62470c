"""Double-word balls of binary_cross_entropy's quantities, for float64 outputs.

    Lx = log x,  L1 = log(1 - x)       (x in [2^-140, 1): neither clamp is active)
    value  = -w (y Lx + (1 - y) L1)    weight = -(y Lx + (1 - y) L1)
    target = -w (Lx - L1)              input  = -w (y - x) / (x (1 - x))

``1 - x``, ``1 - y`` and ``y - x`` are exact double-words (TwoSum); the input form is
``-w (y/x - (1 - y)/(1 - x))`` over one denominator. x >= 2^-140 > e^-100 keeps log x unclamped
and x < 1 gives 1 - x >= 2^-53, so log(1 - x) is unclamped too (oracle.fast.bce). Outside this
domain (x = 0, x = 1, x < 2^-140: rational or clamped quantities) the exact path answers.
Precondition (``eligible``): 2^-140 <= x < 1, 0 <= y <= 1, w finite.
"""

from __future__ import annotations

import numpy as np

from oracle.fast import balls as B
from oracle.fast.double_word import two_sum
from oracle.fast.elementary_dd import log_ball

_UNCLAMPED_FROM = 2.0**-140


def eligible(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (x >= _UNCLAMPED_FROM) & (x < 1) & (y >= 0) & (y <= 1) & np.isfinite(w)


def enclose(name: str, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> B.Ball:
    """The ball of quantity ``name`` at eligible points."""
    one_minus_x = B.from_pair(two_sum(np.ones_like(x), -x))
    if name == "input":
        num = B.from_pair(two_sum(y, -x))
        return B.mul_float(B.div(num, B.mul_float(one_minus_x, x)), -w)
    lx = log_ball(B.exact(x))
    l1 = log_ball(one_minus_x)
    if name == "target":
        return B.mul_float(B.sub(lx, l1), -w)
    one_minus_y = B.from_pair(two_sum(np.ones_like(y), -y))
    bracket = B.add(B.mul_float(lx, y), B.mul(one_minus_y, l1))
    if name == "weight":
        return B.neg(bracket)
    if name == "value":
        return B.mul_float(bracket, -w)
    raise ValueError(f"unknown quantity {name!r}")
