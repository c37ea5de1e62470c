"""Reading arguments as exact numbers: every value is the binary number it is, nothing rounded.

Accepted: Python floats and ints, Fractions, decimal strings ("0.1" is read as the rational
1/10, "inf"/"-inf"/"nan" as the specials), nested lists of those, and NumPy arrays of any float
dtype (bfloat16 via ml_dtypes) or integer dtype. The result is a NumPy object array of the
same shape whose elements are ``Fraction`` for finite values and float ``inf``/``nan`` otherwise;
-0.0 reads as 0 (a zero has no sign in the documented formulas).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from oracle.errors import OracleDomainError
from oracle.formats import exact_value


def _exact_float(v: float) -> Fraction | float:
    if math.isnan(v) or math.isinf(v):
        return v
    return Fraction(v)


def read_exact(value: object, name: str) -> np.ndarray:
    """An object array of exact values for argument ``name`` (named in any error)."""
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        if arr.dtype.kind == "f" or arr.dtype.name == "bfloat16":
            # float16/bfloat16/float32 widen exactly to float64, and a float64 is a Python float.
            wide = arr.astype(np.float64) if arr.dtype.itemsize < 8 else arr
            if arr.dtype.itemsize > 8:
                raise OracleDomainError(f"{name}: dtype {arr.dtype} is not supported")
            out = np.empty(arr.shape, dtype=object)
            out.reshape(-1)[:] = [_exact_float(v) for v in wide.reshape(-1).tolist()]
            return out
        if arr.dtype.kind in "iu":
            out = np.empty(arr.shape, dtype=object)
            out.reshape(-1)[:] = [Fraction(v) for v in arr.reshape(-1).tolist()]
            return out
        if arr.dtype.kind != "O":
            raise OracleDomainError(f"{name}: expected numbers, got an array of dtype {arr.dtype}")
        value = arr.tolist()
    try:
        arr = np.array(value, dtype=object)
    except ValueError as exc:  # ragged nested lists
        raise OracleDomainError(f"{name}: not a rectangular array ({exc})") from None
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1)):
        try:
            flat[i] = exact_value(v)
        except (TypeError, ValueError, ZeroDivisionError):
            raise OracleDomainError(f"{name}: cannot read {v!r} as a number") from None
    return out
