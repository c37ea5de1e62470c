"""Binary floating-point formats: exact decoding, direct correct rounding, ULP distance.

A format with precision ``p`` (significand bits, hidden bit included) and maximum exponent
``emax`` has ``emin = 1 - emax``. Every finite value is ``m * 2**q`` with integer ``m`` and
``q >= emin - p + 1``. Rounding here is IEEE 754 roundTiesToEven, done directly from an exact
rational into the target format with integer arithmetic: never through another format, so there
is no double rounding, and subnormals and overflow to infinity are exactly as IEEE 754 says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from oracle.errors import OracleDomainError, UnknownFormatError


@dataclass(frozen=True)
class Format:
    """An IEEE 754-style binary interchange format (bfloat16 included)."""

    name: str
    precision: int  # p: significand bits including the hidden bit
    emax: int
    width: int  # total bits

    @property
    def emin(self) -> int:
        return 1 - self.emax

    @property
    def exponent_bits(self) -> int:
        return self.width - self.precision

    @property
    def quantum_min(self) -> int:
        """Exponent of the smallest subnormal, ``emin - p + 1``."""
        return self.emin - self.precision + 1

    @property
    def inf_bits(self) -> int:
        """Bit pattern of +inf (all exponent bits set, zero fraction)."""
        return ((1 << self.exponent_bits) - 1) << (self.precision - 1)

    @property
    def sign_bit(self) -> int:
        return 1 << (self.width - 1)

    @property
    def uint_dtype(self) -> np.dtype:
        return np.dtype(f"uint{self.width}")

    @property
    def numpy_dtype(self) -> np.dtype:
        if self.name == "bfloat16":
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(self.name)

    @property
    def max_finite(self) -> Fraction:
        return Fraction((1 << self.precision) - 1) * Fraction(2) ** (self.emax - self.precision + 1)

    @property
    def min_subnormal(self) -> Fraction:
        return Fraction(2) ** self.quantum_min


FLOAT64 = Format("float64", precision=53, emax=1023, width=64)
FLOAT32 = Format("float32", precision=24, emax=127, width=32)
FLOAT16 = Format("float16", precision=11, emax=15, width=16)
BFLOAT16 = Format("bfloat16", precision=8, emax=127, width=16)

FORMATS: dict[str, Format] = {f.name: f for f in (FLOAT64, FLOAT32, FLOAT16, BFLOAT16)}


def format_of(dtype: object) -> Format:
    """The Format for a dtype given as a name, a NumPy dtype or a Format."""
    if isinstance(dtype, Format):
        return dtype
    name = dtype if isinstance(dtype, str) else getattr(np.dtype(dtype), "name", str(dtype))
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UnknownFormatError(f"unknown dtype {dtype!r}: expected one of {known}") from None


# ---------------------------------------------------------------------------------------------
# Exact decoding
# ---------------------------------------------------------------------------------------------


def decode_bits(bits: int, fmt: Format) -> Fraction | float:
    """The exact value of a bit pattern: a Fraction for finite values, else ±inf or NaN.

    Both zeros decode to ``Fraction(0)``; use :func:`is_negative_bits` for the sign of a zero.
    """
    p, ebits = fmt.precision, fmt.exponent_bits
    negative = bool(bits & fmt.sign_bit)
    biased = (bits >> (p - 1)) & ((1 << ebits) - 1)
    fraction = bits & ((1 << (p - 1)) - 1)
    if biased == (1 << ebits) - 1:
        if fraction:
            return math.nan
        return -math.inf if negative else math.inf
    if biased == 0:
        magnitude = Fraction(fraction) * Fraction(2) ** fmt.quantum_min
    else:
        magnitude = Fraction(fraction | (1 << (p - 1))) * Fraction(2) ** (
            biased - 1 + fmt.quantum_min
        )
    return -magnitude if negative else magnitude


def is_negative_bits(bits: int, fmt: Format) -> bool:
    return bool(bits & fmt.sign_bit)


def bits_of(values: np.ndarray) -> tuple[np.ndarray, Format]:
    """Bit patterns (as an unsigned array) and the Format of a floating NumPy array."""
    fmt = format_of(values.dtype)
    return np.ascontiguousarray(values).view(fmt.uint_dtype), fmt


def from_bits(bits: np.ndarray | int, fmt: Format) -> np.ndarray:
    """A NumPy array of the format's dtype holding the given bit patterns."""
    return np.asarray(bits, dtype=fmt.uint_dtype).view(fmt.numpy_dtype)


# ---------------------------------------------------------------------------------------------
# Direct correct rounding
# ---------------------------------------------------------------------------------------------


def _floor_log2(num: int, den: int) -> int:
    """floor(log2(num / den)) for positive integers."""
    e = num.bit_length() - den.bit_length()
    if e >= 0:
        if num < den << e:
            e -= 1
    elif num << -e < den:
        e -= 1
    return e


def round_rational_bits(value: Fraction | int, fmt: Format, nudge: int = 0) -> int:
    """Bit pattern of ``value + nudge*eps`` rounded to nearest, ties to even, in ``fmt``.

    ``nudge`` in {-1, 0, +1} stands for an infinitesimal ``eps > 0``: it breaks a tie the way the
    true (irrational) value would, and gives the sign of a zero result. An exact zero with
    ``nudge == 0`` is +0. Values at or beyond ``(2 - 2**-p) * 2**emax`` round to infinity.
    """
    q = Fraction(value)
    if q == 0:
        return fmt.sign_bit if nudge < 0 else 0
    negative = q < 0
    if negative:
        q, nudge = -q, -nudge
    num, den = q.numerator, q.denominator
    p = fmt.precision
    exponent = max(_floor_log2(num, den), fmt.emin)
    quantum = exponent - p + 1
    # m = num / den / 2**quantum, split into integer part and remainder.
    if quantum >= 0:
        scaled_den = den << quantum
        scaled_num = num
    else:
        scaled_den = den
        scaled_num = num << -quantum
    m, rem = divmod(scaled_num, scaled_den)
    twice = 2 * rem
    if twice > scaled_den or (twice == scaled_den and (nudge > 0 or (nudge == 0 and m & 1))):
        m += 1
    # A carry out of the significand (m == 2**p) lands on the next binade by itself.
    magnitude_bits = ((quantum - fmt.quantum_min) << (p - 1)) + m
    if magnitude_bits >= fmt.inf_bits:
        magnitude_bits = fmt.inf_bits
    return magnitude_bits | (fmt.sign_bit if negative else 0)


def round_to_bits(value: object, fmt: Format) -> int:
    """Bit pattern of any exact value (see :func:`exact_value`) rounded into ``fmt``."""
    v = exact_value(value)
    if isinstance(v, float):  # inf or nan
        if math.isnan(v):
            return fmt.inf_bits | (1 << (fmt.precision - 2))
        return fmt.inf_bits | (fmt.sign_bit if v < 0 else 0)
    return round_rational_bits(v, fmt)


def round_to(value: object, dtype: object) -> np.ndarray:
    """Correct rounding (ties to even) of an exact value into ``dtype``, as a 0-d NumPy array.

    ``value`` is an mpmath mpf, int, Fraction, decimal string (read exactly) or float (exact
    binary64 value). Rounding is direct into the target format: never through binary64.
    """
    fmt = format_of(dtype)
    try:
        bits = round_to_bits(value, fmt)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise OracleDomainError(f"value: cannot read {value!r} as a number ({exc})") from None
    return from_bits(bits, fmt).reshape(())


def exact_value(value: object) -> Fraction | float:
    """An exact Fraction for a finite value, or a float inf/nan for the special ones."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans are not numeric values here")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return value
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip().lower()
        specials = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}
        if text in specials:
            return specials[text]
        return Fraction(text)
    mpf_tuple = getattr(value, "_mpf_", None)
    if mpf_tuple is not None:
        return _mpf_tuple_to_exact(mpf_tuple)
    if isinstance(value, np.generic | np.ndarray):
        arr = np.asarray(value)
        if arr.shape != ():
            raise TypeError("round_to takes one value; use oracle.decode_array for arrays")
        bits, fmt = bits_of(arr.reshape(1))
        return decode_bits(int(bits[0]), fmt)
    raise TypeError(f"cannot read {type(value).__name__} as an exact value")


def _mpf_tuple_to_exact(t: tuple) -> Fraction | float:
    from mpmath.libmp import finf, fnan, fninf, fzero

    if t == fzero:
        return Fraction(0)  # mpmath has a single zero
    if t == finf:
        return math.inf
    if t == fninf:
        return -math.inf
    if t == fnan:
        return math.nan
    sign, man, exp, _ = t
    value = Fraction(man) * Fraction(2) ** exp if exp < 0 else Fraction(man << exp)
    return -value if sign else value


# ---------------------------------------------------------------------------------------------
# ULP distance
# ---------------------------------------------------------------------------------------------


def ordinal(bits: int, fmt: Format) -> int:
    """Position of a value on the number line of ``fmt``: +0 and -0 are both 0, adjacent
    values differ by 1, and ±inf sit one step beyond the largest finite values."""
    magnitude = bits & (fmt.sign_bit - 1)
    return -magnitude if bits & fmt.sign_bit else magnitude


def ulp_distance_bits(a: int, b: int, fmt: Format) -> float:
    """Number of representable steps between two values (inf if either is NaN)."""
    nan_a = (a & (fmt.sign_bit - 1)) > fmt.inf_bits
    nan_b = (b & (fmt.sign_bit - 1)) > fmt.inf_bits
    if nan_a or nan_b:
        return 0.0 if nan_a and nan_b else math.inf
    return float(abs(ordinal(a, fmt) - ordinal(b, fmt)))


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ULP distance between two arrays of the same floating dtype, as float64.

    Both NaN gives 0, one NaN gives inf; ±0 are at distance 0; the largest finite value and
    infinity are at distance 1. Computed exactly on the bit patterns (uint64 arithmetic) for
    every width; returned as float64, so a float64 distance above 2^53 is rounded.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if not a.dtype.isnative:  # the bit patterns are read in this machine's byte order
        a = a.astype(a.dtype.newbyteorder("="))
    if not b.dtype.isnative:
        b = b.astype(b.dtype.newbyteorder("="))
    if a.dtype != b.dtype:
        raise TypeError(f"ulp_distance needs one dtype, got {a.dtype} and {b.dtype}")
    fmt = format_of(a.dtype)
    if a.shape != b.shape:
        raise ValueError(f"ulp_distance needs one shape, got {a.shape} and {b.shape}")
    a_raw = np.ascontiguousarray(a).view(fmt.uint_dtype).reshape(-1)
    b_raw = np.ascontiguousarray(b).view(fmt.uint_dtype).reshape(-1)
    dist = np.zeros(a_raw.shape, dtype=np.float64)  # equal bit patterns: distance 0
    differ = np.flatnonzero(a_raw != b_raw)
    if differ.size:
        dist[differ] = _distance_of_bits(
            a_raw[differ].astype(np.uint64), b_raw[differ].astype(np.uint64), fmt
        )
    return dist.reshape(a.shape)


def _distance_of_bits(a_bits: np.ndarray, b_bits: np.ndarray, fmt: Format) -> np.ndarray:
    """ulp_distance on bit patterns widened to uint64 (flat arrays)."""
    sign = np.uint64(fmt.sign_bit)
    mag_a = a_bits & (sign - np.uint64(1))
    mag_b = b_bits & (sign - np.uint64(1))
    same_side = ((a_bits & sign) == (b_bits & sign)) | (mag_a == 0) | (mag_b == 0)
    across = mag_a + mag_b  # fits: each magnitude is below 2**63
    within = np.where(mag_a > mag_b, mag_a - mag_b, mag_b - mag_a)
    dist = np.where(same_side, within, across).astype(np.float64)
    inf_bits = np.uint64(fmt.inf_bits)
    nan_a = mag_a > inf_bits
    nan_b = mag_b > inf_bits
    dist = np.where(nan_a | nan_b, np.inf, dist)
    return np.where(nan_a & nan_b, 0.0, dist)
