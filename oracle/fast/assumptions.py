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


def failures() -> list[str]:
    """The names of the failed checks (empty when every assumption holds)."""
    bad = []
    one = _a([1.0, -1.0])
    with np.errstate(all="ignore"):
        # Round to nearest: 1 + 3*2^-54 is above the midpoint 1 + 2^-53, so it rounds up in
        # magnitude; 1 + 2^-54 rounds down. Toward-zero / directed modes get one of them wrong.
        if not np.array_equal(one + one * (3 * 2.0**-54), one * (1 + 2.0**-52)):
            bad.append("round-to-nearest (above the midpoint)")
        if not np.array_equal(one + one * 2.0**-54, one):
            bad.append("round-to-nearest (below the midpoint)")
        if not np.array_equal(one + one * 2.0**-53, one):  # a tie goes to the even 1
            bad.append("ties to even")
        if not np.array_equal(_a([1.0]) / _a([3.0]), _a([0.3333333333333333])):
            bad.append("correctly rounded division")
        # No FMA: (1 + 2^-30)^2 - (1 + 2^-29) is 2^-60 fused, 0 when the product is rounded.
        a = _a([1.0 + 2.0**-30])
        if not np.array_equal(a * a - _a([1.0 + 2.0**-29]), _a([0.0])):
            bad.append("no fused multiply-add")
        # Subnormals.
        tiny = _a([2.0**-1022])
        if not np.array_equal(tiny * 0.5, _a([2.0**-1023])) or (tiny * 2.0**-52)[0] == 0:
            bad.append("no flush-to-zero")
        if not (_a([2.0**-1074]) * 2.0**600 * 2.0**474 == 1.0).all():
            bad.append("no denormals-are-zero")
        if np.nextafter(_a([0.0]), _a([1.0]))[0] != 2.0**-1074:
            bad.append("nextafter")
        if not np.array_equal(np.rint(_a([0.5, 1.5, 2.5, -0.5])), _a([0.0, 2.0, 2.0, -0.0])):
            bad.append("rint ties to even")
        m, e = np.frexp(_a([3.0 * 2.0**-1060]))
        if m[0] != 0.75 or e[0] != -1058 or np.ldexp(m, e)[0] != 3.0 * 2.0**-1060:
            bad.append("frexp/ldexp")
    return bad
