"""Arguments read exactly, kept as binary64 arrays where they are binary64 numbers.

A NumPy float array (float16, bfloat16, float32, float64) widens exactly to float64, so its
values are held as one float64 array and turned into exact Fractions only for the elements that
need an exact form (the fast path of oracle.fast works on the float64 values directly). Any
other input (lists, Fractions, decimal strings, huge integers) is read by
:func:`oracle.exact_input.read_exact`; those of its values that are binary64 numbers are marked
as such, the others are handled only by the exact path.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from oracle.errors import OracleDomainError
from oracle.exact_input import read_exact

_INT_EXACT = 1 << 53


def _exact_of_float(v: float) -> Fraction | float:
    if math.isnan(v) or math.isinf(v):
        return v
    return Fraction(v)


def _float_of_exact(v: Fraction | float) -> tuple[float, bool]:
    """(binary64 value, whether it is exactly ``v``)."""
    if isinstance(v, float):
        return v, True
    try:
        f = float(v)
    except OverflowError:
        return math.nan, False
    return f, Fraction(f) == v


class ExactArray:
    """One argument: its shape, float64 values, which of them are exact, exact values on demand."""

    def __init__(self, floats: np.ndarray, exact_mask: np.ndarray, objects: np.ndarray | None):
        self.floats = floats
        self.exact_mask = exact_mask  # True where floats holds the exact value
        self._objects = objects
        self.shape = tuple(floats.shape)
        self.all_exact = bool(exact_mask.all())

    def objects(self) -> np.ndarray:
        """Object array of exact values (Fraction, or float inf/nan), built on first use."""
        if self._objects is None:
            out = np.empty(self.shape, dtype=object)
            out.reshape(-1)[:] = [_exact_of_float(v) for v in self.floats.reshape(-1).tolist()]
            self._objects = out
        return self._objects

    def broadcast(self, target_shape: tuple[int, ...]) -> FlatArgument:
        floats = np.broadcast_to(self.floats, target_shape).reshape(-1)
        mask = np.broadcast_to(self.exact_mask, target_shape).reshape(-1)
        objects = None
        if self._objects is not None:
            objects = np.broadcast_to(self._objects, target_shape).reshape(-1)
        return FlatArgument(floats, mask, objects)


class FlatArgument:
    """An argument broadcast to the target's shape and flattened."""

    def __init__(self, floats: np.ndarray, exact_mask: np.ndarray, objects: np.ndarray | None):
        self.floats = floats
        self.exact_mask = exact_mask
        self.objects = objects
        self.all_exact = bool(exact_mask.all())

    def key(self, i: int) -> Fraction | float:
        """A hashable exact value of element ``i`` (a float when it is one: equal values hash
        alike across float and Fraction)."""
        if self.objects is not None:
            return self.objects[i]
        return float(self.floats[i])

    def exact(self, i: int) -> Fraction | float:
        if self.objects is not None:
            return self.objects[i]
        return _exact_of_float(float(self.floats[i]))


def read_argument(value: object, name: str) -> ExactArray:
    """Read argument ``name`` exactly (errors name it, as :func:`read_exact` does)."""
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        if arr.dtype.kind == "f" or arr.dtype.name == "bfloat16":
            if arr.dtype.itemsize > 8:
                raise OracleDomainError(f"{name}: dtype {arr.dtype} is not supported")
            floats = arr.astype(np.float64)  # exact widening
            return ExactArray(floats, np.ones(floats.shape, dtype=bool), None)
        if arr.dtype.kind in "iu" and (
            arr.size == 0 or -_INT_EXACT <= int(arr.min()) <= int(arr.max()) <= _INT_EXACT
        ):
            floats = arr.astype(np.float64)
            return ExactArray(floats, np.ones(floats.shape, dtype=bool), None)
    objects = read_exact(value, name)
    pairs = [_float_of_exact(v) for v in objects.reshape(-1)]
    floats = np.array([f for f, _ in pairs], dtype=np.float64).reshape(objects.shape)
    mask = np.array([ok for _, ok in pairs], dtype=bool).reshape(objects.shape)
    return ExactArray(floats, mask, objects)
