"""The floating-point facts every fast-path bound relies on, checked on this machine at import.

* float64 + - * / round to nearest, ties to even (not toward zero or an infinity);
* a product followed by a sum is two roundings: no fused multiply-add contraction in NumPy's
  ufuncs (each ufunc call rounds its own result);
* subnormals are produced and read as such: no flush-to-zero, no denormals-are-zero;
* ``np.rint`` rounds half to even, ``np.nextafter`` steps one representable number, ``np.frexp``
  and ``np.ldexp`` are exact.

If any check fails, the fast path is switched off and every answer comes from the exact path.
"""

from __future__ import annotations

import numpy as np


def _a(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit equality (stricter than ``==``: the sign of a zero counts)."""
    return a.tobytes() == b.tobytes()


# The operands and the answers each check expects, built once: a check is a few ufunc calls on
# two-element arrays and a comparison of bytes (microseconds), since it runs on every entry.
_ONE = _a([1.0, -1.0])
_ABOVE_MID, _BELOW_MID, _MID = 3 * 2.0**-54, 2.0**-54, 2.0**-53
_ONE_UP = _ONE * (1 + 2.0**-52)
_THIRD = (_a([1.0]), _a([3.0]), _a([0.3333333333333333]))
_FMA = (_a([1.0 + 2.0**-30]), _a([1.0 + 2.0**-29]), _a([0.0]))
_TINY, _HALF_TINY = _a([2.0**-1022]), _a([2.0**-1023])
_LEAST = _a([2.0**-1074])
_RINT = (_a([0.5, 1.5, 2.5, -0.5]), _a([0.0, 2.0, 2.0, -0.0]))
_FREXP = _a([3.0 * 2.0**-1060])
_ZERO_ONE = (_a([0.0]), _a([1.0]))


def _round_to_nearest() -> bool:
    # 1 + 3*2^-54 is above the midpoint 1 + 2^-53 and rounds up in magnitude, 1 + 2^-54 rounds
    # down, and the tie 1 + 2^-53 goes to the even 1: directed or toward-zero modes fail one.
    return (
        _same(_ONE + _ONE * _ABOVE_MID, _ONE_UP)
        and _same(_ONE + _ONE * _BELOW_MID, _ONE)
        and _same(_ONE + _ONE * _MID, _ONE)
        and _same(_THIRD[0] / _THIRD[1], _THIRD[2])
    )


def _no_fma() -> bool:
    # (1 + 2^-30)^2 - (1 + 2^-29) is 2^-60 when fused, 0 when the product is rounded first.
    a, b, zero = _FMA
    return _same(a * a - b, zero)


def _subnormals() -> bool:
    produced = _same(_TINY * 0.5, _HALF_TINY) and (_TINY * 2.0**-52)[0] != 0
    read = (_LEAST * 2.0**600 * 2.0**474)[0] == 1.0
    return bool(produced and read)


def _helpers() -> bool:
    m, e = np.frexp(_FREXP)
    return bool(
        np.nextafter(*_ZERO_ONE)[0] == 2.0**-1074
        and _same(np.rint(_RINT[0]), _RINT[1])
        and m[0] == 0.75
        and e[0] == -1058
        and np.ldexp(m, e)[0] == 3.0 * 2.0**-1060
    )


CHECKS = {
    "round to nearest, ties to even": _round_to_nearest,
    "no fused multiply-add": _no_fma,
    "no flush-to-zero, no denormals-are-zero": _subnormals,
    "nextafter, rint, frexp, ldexp": _helpers,
}


def failures() -> list[str]:
    """The names of the failed checks (empty when every assumption holds)."""
    with np.errstate(all="ignore"):
        return [name for name, check in CHECKS.items() if not check()]
