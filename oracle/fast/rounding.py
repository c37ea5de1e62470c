"""Deciding a correct rounding from a float64 enclosure, and rounding float64 values into a
binary format (float32, float16, bfloat16) exactly.

Rounding to a format is monotone (non-decreasing), so if both endpoints of an enclosure
``[lo, hi]`` of a value ``v`` round to the same number, so does ``v``. The enclosure must also
have one strict sign, which fixes the sign of a zero result (an exact zero is never decided here:
the exact path gives it +0). ``round_in_format`` is IEEE 754 roundTiesToEven from a float64
value directly into the format (subnormals and overflow to infinity included): with
``q = 2^(max(floor(log2 |v|), emin) - p + 1)``, ``v / q`` is exact (a power-of-two scaling that
stays in range), ``rint`` rounds it to an integer with ties to even, and the product back is exact.
For float32 the IEEE 754 conversion from float64 is that same single correct rounding; so is
NumPy's float64 -> float16 conversion, where a check at import confirms it rounds once.
"""

from __future__ import annotations

import numpy as np

from oracle.fast import assumptions
from oracle.formats import Format


def _half_conversion_rounds_once() -> bool:
    """Whether NumPy's float64 -> float16 conversion is one correct rounding here (not through
    float32: 1 + 2^-11 + 2^-40 would then tie to 1), subnormals and overflow included."""
    v = np.array([1 + 2.0**-11 + 2.0**-40, 1 + 2.0**-11, 2.0**-25, 2.0**-25 + 2.0**-60, 65520.0])
    want = np.array([1 + 2.0**-10, 1.0, 0.0, 2.0**-24, np.inf])
    with np.errstate(all="ignore"):
        got = v.astype(np.float16).astype(np.float64)
    return bool(np.array_equal(got, want))


HALF_CONVERSION_ROUNDS_ONCE = _half_conversion_rounds_once()


def round_in_format(v: np.ndarray, fmt: Format) -> np.ndarray:
    """Each finite float64 of ``v`` rounded to nearest-even into ``fmt``, as float64 (or ±inf)."""
    if fmt.name == "float32":  # IEEE 754 conversion: one correct rounding, same rules
        return v.astype(np.float32).astype(np.float64)
    if fmt.name == "float16" and HALF_CONVERSION_ROUNDS_ONCE:
        return v.astype(np.float16).astype(np.float64)
    # floor(log2 |v|) from the exponent field (a subnormal float64 gives -1023, below emin)
    biased = ((v.view(np.uint64) >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    qe = np.maximum(biased - 1023, fmt.emin) - (fmt.precision - 1)
    down_scale = ((1023 - qe) << 52).view(np.float64)  # 2^-qe, normal: -qe in [-1016, 149]
    up_scale = ((1023 + qe) << 52).view(np.float64)  # 2^qe, normal
    r = np.rint(v * down_scale) * up_scale
    return np.where(np.abs(r) > float(fmt.max_finite), np.copysign(np.inf, v), r)


def format_bits(r: np.ndarray, fmt: Format) -> np.ndarray:
    """Bit patterns (uint64) of float64 values that are exactly representable in ``fmt``."""
    if fmt.name == "float32":
        return r.astype(np.float32).view(np.uint32).astype(np.uint64)
    if fmt.name == "float16":
        return r.astype(np.float16).view(np.uint16).astype(np.uint64)
    if fmt.name == "bfloat16":  # the high half of the (exact) float32 pattern
        return (r.astype(np.float32).view(np.uint32) >> np.uint32(16)).astype(np.uint64)
    raise ValueError(f"no fast rounding into {fmt.name}")


def decide(lo: np.ndarray, hi: np.ndarray, ok: np.ndarray, fmt: Format):
    """(decided mask, uint64 bits) for enclosures ``[lo, hi]`` valid where ``ok``.

    An enclosure ``[0, 0]`` holds only the exact zero, which rounds to +0 (bits 0) as on the
    exact path; any other enclosure must have one strict sign. Nothing is decided while the
    arithmetic assumptions fail (oracle.fast.assumptions, checked now)."""
    ok = ok & (not assumptions.failures())
    with np.errstate(all="ignore"):
        usable = ok & np.isfinite(lo) & np.isfinite(hi) & ((lo > 0) | (hi < 0)) & (lo <= hi)
        r_lo = round_in_format(np.where(usable, lo, 1.0), fmt)
        r_hi = round_in_format(np.where(usable, hi, 1.0), fmt)
        rounded = usable & (r_lo == r_hi)
        bits = format_bits(np.where(rounded, r_lo, 0.0), fmt)
        decided = rounded | (ok & (lo == 0) & (hi == 0))
    return decided, bits


_MIN_DECIDED_EXPONENT = 55  # biased: |h| >= 2^-968, so half an ulp of h is a normal float


def decide_float64(h: np.ndarray, l: np.ndarray, r: np.ndarray, ok: np.ndarray):  # noqa: E741
    """(decided mask, uint64 bits) for double-word balls ``|v - (h + l)| <= r`` valid where
    ``ok``: decided where ``v`` lies strictly inside the rounding interval of the float64 ``h``.

    With ``a = |h|`` normal (at least 2^-968) and ``d = sign(h) l``, RN(v) = h when
    ``-g_below / 2 < d - r`` and ``d + r < ulp(a) / 2`` (``g_below = ulp(a) / 2`` when ``a`` is a
    power of two, else ``ulp(a)``; at the largest float the upper bound is the overflow threshold
    itself). Both tests are made on RN(d + r) and RN(d - r): rounding is monotone and the bounds
    are floats, so a rounded sum below (above) a bound means the exact one is too.
    """
    ok = ok & (not assumptions.failures())  # nothing decided while an assumption fails
    with np.errstate(all="ignore"):
        fine = ok & np.isfinite(h) & np.isfinite(l) & np.isfinite(r)
        bits = np.where(fine, h, 1.0).view(np.uint64)
        biased = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
        fine &= biased >= _MIN_DECIDED_EXPONENT
        half = ((np.maximum(biased, _MIN_DECIDED_EXPONENT) - 53) << 52).view(np.float64)
        power = (bits & np.uint64((1 << 52) - 1)) == 0
        half_below = np.where(power, 0.5 * half, half)
        d = np.where(h < 0, -l, l)
        decided = fine & (d + r < half) & (d - r > -half_below)
    return decided, np.where(decided, h, 0.0).view(np.uint64)
