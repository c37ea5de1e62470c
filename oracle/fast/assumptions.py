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


def _round_to_nearest() -> bool:
    # 1 + 3*2^-54 is above the midpoint 1 + 2^-53 and rounds up in magnitude, 1 + 2^-54 rounds
    # down, and the tie 1 + 2^-53 goes to the even 1: directed or toward-zero modes fail one.
    one = _a([1.0, -1.0])
    return (
        np.array_equal(one + one * (3 * 2.0**-54), one * (1 + 2.0**-52))
        and np.array_equal(one + one * 2.0**-54, one)
        and np.array_equal(one + one * 2.0**-53, one)
        and np.array_equal(_a([1.0]) / _a([3.0]), _a([0.3333333333333333]))
    )


def _no_fma() -> bool:
    # (1 + 2^-30)^2 - (1 + 2^-29) is 2^-60 when fused, 0 when the product is rounded first.
    a = _a([1.0 + 2.0**-30])
    return np.array_equal(a * a - _a([1.0 + 2.0**-29]), _a([0.0]))


def _subnormals() -> bool:
    tiny = _a([2.0**-1022])
    produced = np.array_equal(tiny * 0.5, _a([2.0**-1023])) and (tiny * 2.0**-52)[0] != 0
    read = (_a([2.0**-1074]) * 2.0**600 * 2.0**474 == 1.0).all()
    return bool(produced and read)


def _helpers() -> bool:
    m, e = np.frexp(_a([3.0 * 2.0**-1060]))
    return (
        np.nextafter(_a([0.0]), _a([1.0]))[0] == 2.0**-1074
        and np.array_equal(np.rint(_a([0.5, 1.5, 2.5, -0.5])), _a([0.0, 2.0, 2.0, -0.0]))
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
