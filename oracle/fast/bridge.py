"""Float64 enclosures of exact values, for the elements and upstream gradients that are not
binary64 numbers or not on the fast path (they then join a certified sum)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from mpmath.libmp import round_ceiling, round_floor, to_float

from oracle.extended import Ext
from oracle.fast import intervals as iv
from oracle.linear_forms import enclose_transcendental_part, enclose_value


def _fraction_bounds(q: Fraction) -> tuple[float, float]:
    f = float(q)  # correctly rounded (OverflowError beyond the range)
    if Fraction(f) == q:
        return f, f
    return float(iv.down(np.float64(f))), float(iv.up(np.float64(f)))


def enclose_exact_values(values) -> tuple[np.ndarray, np.ndarray]:
    """Per element, a float64 interval holding the exact finite value of a FlatArgument."""
    lo = values.floats.copy()
    hi = values.floats.copy()
    for i in np.flatnonzero(~values.exact_mask).tolist():
        lo[i], hi[i] = _fraction_bounds(values.objects[i])
    return lo, hi


def enclose_ext(value: Ext) -> tuple[float, float] | None:
    """A float64 interval holding a finite exact value, or None (not finite, out of range)."""
    if not value.is_finite:
        return None
    form = value.form
    try:
        c_lo, c_hi = _fraction_bounds(form.const)
    except OverflowError:
        return None
    if form.is_constant:
        return c_lo, c_hi
    a, b = enclose_transcendental_part(form, 64)._mpi_
    p_lo = float(iv.down(np.float64(to_float(a, rnd=round_floor))))
    p_hi = float(iv.up(np.float64(to_float(b, rnd=round_ceiling))))
    with np.errstate(all="ignore"):
        lo, hi = iv.add((np.float64(c_lo), np.float64(c_hi)), (np.float64(p_lo), np.float64(p_hi)))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    return float(lo), float(hi)


def ball_of_fraction(q: Fraction, err: Fraction = Fraction(0)) -> tuple[float, float, float]:
    """A double-word ball holding every real within ``err`` of the rational ``q``."""
    from oracle.fast.balls import constant

    return constant(q, err)


def ball_of_ext(value: Ext) -> tuple[float, float, float] | None:
    """A double-word ball holding a finite exact value (its form enclosed at 200 bits), or None
    (not finite, out of range, or too small to convert)."""
    if not value.is_finite:
        return None
    form = value.form
    if form.is_constant:
        lo = hi = form.const
    else:
        lo, hi = enclose_value(form, 200)
        if not isinstance(lo, Fraction) or not isinstance(hi, Fraction):
            return None
    try:
        ball = ball_of_fraction((lo + hi) / 2, (hi - lo) / 2)
    except OverflowError:
        return None
    return ball if all(np.isfinite(ball)) else None
