"""Kernel arithmetic in a backend's dtype: what a C++ kernel computes, reproduced with NumPy.

Every value is a NumPy scalar of the dtype it lives in (``float64``, ``float32``, ``float16`` or
ml_dtypes' ``bfloat16``). Arithmetic between two scalars of one dtype is IEEE arithmetic in that
dtype (NumPy and ml_dtypes round each +, -, *, / correctly into the dtype), so an expression
written here rounds after every operation, as a kernel does. Elementary functions (exp, log,
log1p) are taken correctly rounded into the dtype: the model of an accurate libm (glibc, Sleef
u10), which is what the kernels call. ``cmax`` is ``std::max``: ``a < b ? b : a``, so a NaN first
argument wins and a NaN second argument loses.

Reduced floating types (float16, bfloat16) are often evaluated by the kernel in float32 and
rounded once at the end ("opmath"): ``opmath(dtype)`` names the dtype to compute in, ``to`` rounds
a value into another dtype.
"""

from __future__ import annotations

import math

import numpy as np
from mpmath import mp

import oracle
from oracle.formats import format_of

Scalar = np.generic
REDUCED = ("float16", "bfloat16")
_WORK_BITS = 320  # mpmath precision for the elementary functions, far beyond binary64
_FAR_EXPONENT = 4096  # beyond 2**+-4096 every dtype here has overflowed or flushed to zero


def dtype_of(name: str) -> np.dtype:
    return format_of(name).numpy_dtype


def to(value: object, dtype: str) -> Scalar:
    """``value`` (a NumPy scalar, Python number or mpmath number) rounded to nearest into
    ``dtype``; a zero keeps its sign (the oracle's rounding reads -0 as the number 0)."""
    if isinstance(value, float | np.generic) and value == 0:  # ml_dtypes' bfloat16 included
        return np.asarray(value).astype(np.float64).astype(dtype_of(dtype))[()]
    if isinstance(value, mp.mpf) and value and mp.isfinite(value):
        magnitude = int(mp.mag(value))
        if abs(magnitude) > _FAR_EXPONENT:  # flushed to a signed zero, or overflowed
            far = 0.0 if magnitude < 0 else math.inf
            return np.asarray(far if value > 0 else -far).astype(dtype_of(dtype))[()]
    return oracle.round_to(value, dtype)[()]


def const(value: float, dtype: str) -> Scalar:
    """A literal of a kernel (``static_cast<T>(1e-12)``) rounded into ``dtype``."""
    return oracle.round_to(float(value), dtype)[()]


def opmath(dtype: str) -> str:
    """The dtype a kernel computes in for ``dtype``: float32 for the reduced types."""
    return "float32" if dtype in REDUCED else dtype


def _special(fn: str, v: float) -> float | None:
    if math.isnan(v):
        return math.nan
    if math.isinf(v):
        return {
            "exp": math.inf if v > 0 else 0.0,
            "log": math.inf if v > 0 else math.nan,
            "log1p": math.inf if v > 0 else math.nan,
        }[fn]
    if fn == "log" and v <= 0:
        return -math.inf if v == 0 else math.nan
    if fn == "log1p" and v <= -1:
        return -math.inf if v == -1 else math.nan
    return None


def elementary(fn: str, x: Scalar) -> Scalar:
    """``fn(x)`` (exp, log or log1p) correctly rounded into the dtype of ``x``."""
    dtype = format_of(x.dtype).name
    v = float(np.asarray(x).astype(np.float64))
    special = _special(fn, v)
    if special is not None:
        return np.asarray(special).astype(dtype_of(dtype))[()]
    if v == 0:
        return np.asarray(1.0 if fn == "exp" else v).astype(dtype_of(dtype))[()]
    with mp.workprec(_WORK_BITS):
        result = getattr(mp, fn)(mp.mpf(v))
    return to(result, dtype)


def exp(x: Scalar) -> Scalar:
    return elementary("exp", x)


def log(x: Scalar) -> Scalar:
    return elementary("log", x)


def log1p(x: Scalar) -> Scalar:
    return elementary("log1p", x)


def cmax(a: Scalar, b: Scalar) -> Scalar:
    """``std::max(a, b)``: ``a < b ? b : a``."""
    return b if a < b else a


def cmin(a: Scalar, b: Scalar) -> Scalar:
    """``std::min(a, b)``: ``b < a ? b : a``."""
    return b if b < a else a


def same_bits(a: Scalar, b: Scalar) -> bool:
    """Bit-for-bit equality, every NaN equal to every NaN (kernels do not promise a payload)."""
    if np.isnan(a) and np.isnan(b):
        return True
    fmt = format_of(a.dtype)
    return bool(
        np.asarray(a).view(fmt.uint_dtype) == np.asarray(b).astype(a.dtype).view(fmt.uint_dtype)
    )


def next_after(a: Scalar) -> Scalar:
    """The value one ulp away from ``a`` (the control's perturbation).

    A finite value moves one ulp toward +inf (the largest finite one toward -inf); an infinity
    becomes the largest finite value of its sign; a NaN (which has no neighbour) becomes the
    largest finite value, an output no formula here produces by chance.
    """
    dt = a.dtype
    fmt = format_of(dt)
    if np.isnan(a):
        return np.asarray(fmt.inf_bits - 1, dtype=fmt.uint_dtype).view(dt)[()]
    bits = int(np.asarray(a).view(fmt.uint_dtype))
    negative = bool(bits & fmt.sign_bit)
    magnitude = bits & (fmt.sign_bit - 1)
    if magnitude == fmt.inf_bits:
        magnitude -= 1
    elif magnitude == fmt.inf_bits - 1 and not negative:
        magnitude -= 1
    elif negative and magnitude > 0:
        magnitude -= 1
    elif negative:  # -0 -> smallest positive subnormal
        negative, magnitude = False, 1
    else:
        magnitude += 1
    out = magnitude | (fmt.sign_bit if negative else 0)
    return np.asarray(out, dtype=fmt.uint_dtype).view(dt)[()]
