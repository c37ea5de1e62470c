"""Closed forms of binary_cross_entropy's quantities where they are rational.

From ``l = -w [y Lx + (1 - y) L1]`` and its derivatives (oracle.bce_terms), with
``Lx = max(log x, -100)``, ``L1 = max(log(1 - x), -100)``:

* x = 1: log x = 0 and log(1 - x) is clamped to -100 (derivative 0); x = 0: the reverse:

      x = 1:  value 100 w (1 - y),  input -w y,       target -100 w,  weight 100 (1 - y)
      x = 0:  value 100 w y,        input w (1 - y),  target 100 w,   weight 100 y

* the input derivative ``-w (y D1 - (1 - y) D2)`` is rational everywhere: D1 = 1/x unless the
  clamp of log x is active (x < e^-100; certainly for x < 2^-145, certainly not for
  x >= 2^-140, undecided here in between), D2 = 1/(1 - x) for x < 1;
* the target derivative ``-w (Lx - L1)`` is 0 at x = 1/2.

These exact rationals are rounded directly instead of through exact forms: they are frequent
(probabilities that round to 0, 1/2 or 1 in a low precision) and are often midpoints or zeros,
which no float64 enclosure decides.
"""

from __future__ import annotations

from fractions import Fraction

_CLAMPED_BELOW = Fraction(1, 2**145)
_UNCLAMPED_FROM = Fraction(1, 2**140)


def bce_rational_quantity(name: str, x: Fraction, y: Fraction, w: Fraction) -> Fraction | None:
    """The exact quantity where a closed form above applies (finite rationals), else None."""
    if x == 1:
        table = {"value": 100 * w * (1 - y), "input": -w * y, "target": -100 * w}
        return table.get(name, 100 * (1 - y))
    if x == 0:
        table = {"value": 100 * w * y, "input": w * (1 - y), "target": 100 * w}
        return table.get(name, 100 * y)
    if name == "input":
        if x >= _UNCLAMPED_FROM:
            return -w * (y / x - (1 - y) / (1 - x))
        if x < _CLAMPED_BELOW:
            return w * (1 - y) / (1 - x)
        return None
    if name == "target" and x == Fraction(1, 2):
        return Fraction(0)
    return None
