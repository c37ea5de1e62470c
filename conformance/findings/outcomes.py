"""Sets of outputs a computation may give, for models that bound what they cannot reproduce.

A model of a kernel whose elementary functions are bounded rather than reproduced (ONNX Runtime's
Eigen log, XLA's exp and log1p) or whose reduction order is unknown evaluates every allowed
combination; ``Outcomes`` holds the range of the results (and whether NaN is among them).
``single()`` is the prediction where all combinations agree bit for bit; ``admits(got)`` is what
a repaired formula is checked with (conformance.findings.attribution): the recorded output must
not be among the repaired formula's outputs. ``summation_orders`` gives a sum in the orders the
models try: in order, reversed, and in 2, 4, 8 and 16 vector lanes. ``bounded`` and
``floats_near`` give the values a bounded elementary function may return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpmath import mp

from conformance.findings.arithmetic import Scalar, same_bits, to


@dataclass(frozen=True)
class Outcomes:
    """Every output a computation may give: the values between ``low`` and ``high`` (None when
    it gives only NaN), and whether NaN is among them."""

    low: Scalar | None
    high: Scalar | None
    nan: bool
    dtype: str  # the output's dtype

    def single(self) -> Scalar | None:
        """The one output, or None where there are several."""
        if self.low is None:
            return to(np.nan, self.dtype) if self.nan else None
        if self.nan or not same_bits(self.low, self.high):
            return None
        return self.low

    def admits(self, got: Scalar) -> bool:
        """Whether ``got`` is among the outputs (a NaN if NaN is; a number in the range)."""
        if got != got:
            return self.nan
        if self.low is None:
            return False
        with np.errstate(all="ignore"):
            return bool(to(self.low, got.dtype.name) <= got <= to(self.high, got.dtype.name))


def outcomes_of(values: list[Scalar], dtype: str) -> Outcomes:
    numbers = [v for v in values if v == v]
    nan = len(numbers) < len(values)
    if not numbers:
        return Outcomes(None, None, nan, dtype)
    # ordered by value, -0 before +0, so that a range holding both zeros is not one value
    low = min(numbers, key=lambda v: (float(v), not np.signbit(v)))
    high = max(numbers, key=lambda v: (float(v), not np.signbit(v)))
    return Outcomes(low, high, nan, dtype)


def _lanes(values: list[Scalar], lanes: int, zero: Scalar) -> Scalar:
    acc = [zero] * lanes
    n = len(values) // lanes * lanes
    with np.errstate(all="ignore"):
        for i in range(n):
            acc[i % lanes] = acc[i % lanes] + values[i]
        while len(acc) > 1:
            half = len(acc) // 2
            acc = [acc[i] + acc[i + half] for i in range(half)]
        total = acc[0]
        for v in values[n:]:
            total = total + v
    return total


def summation_orders(values: list[Scalar], zero: Scalar) -> list[Scalar]:
    """The sum in several orders: in order, reversed, and in 2, 4, 8 and 16 vector lanes."""
    if len(values) == 1:
        return [values[0]]
    orders = [_lanes(values, 1, zero), _lanes(values[::-1], 1, zero)]
    return orders + [_lanes(values, n, zero) for n in (2, 4, 8, 16)]


def floats_near(rounded: Scalar, exact, ulps: float, inclusive: bool) -> list[Scalar]:
    """``rounded`` and every float of its dtype whose distance to ``exact`` (an mpmath number)
    is below ``ulps`` times the spacing at ``rounded`` (up to it where ``inclusive``), walking
    out from ``rounded`` in both directions."""
    unit = mp.mpf(float(np.spacing(abs(rounded))))
    out = [rounded]
    for direction in (np.inf, -np.inf):
        f = rounded
        while True:
            f = np.nextafter(f, np.asarray(direction, dtype=rounded.dtype)[()])
            if not np.isfinite(f):
                break
            distance = abs(mp.mpf(float(f)) - exact)
            if distance > ulps * unit or (not inclusive and distance == ulps * unit):
                break
            out.append(f)
    return out


def bounded(fn: str, v: Scalar, ulps: float, inclusive: bool) -> list[Scalar]:
    """Every float of v's dtype within ``ulps`` ulp (of the correctly rounded value's binade)
    of fn(v), for fn exp, log or log1p (``floats_near``); an exact special value alone."""
    dtype = v.dtype.name
    a = float(v)
    if a != a:
        return [v]
    if fn == "exp":
        if a in (np.inf, -np.inf) or a == 0:
            return [to(np.inf if a > 0 else (0.0 if a < 0 else 1.0), dtype)]
    elif fn == "log":
        if a <= 0 or a == np.inf or a == 1:
            special = -np.inf if a == 0 else (np.nan if a < 0 else (np.inf if a > 1 else 0.0))
            return [to(special, dtype)]
    elif a == 0 or a == np.inf:
        return [v]
    elif a <= -1:
        return [to(-np.inf if a == -1 else np.nan, dtype)]
    with mp.workprec(320):
        exact = getattr(mp, fn)(mp.mpf(a))
        rounded = to(exact, dtype)
        if not np.isfinite(rounded) or rounded == 0:
            return [rounded]
        return floats_near(rounded, exact, ulps, inclusive)
