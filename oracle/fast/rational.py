"""Closed forms of binary_cross_entropy at x = 0 and x = 1, where every quantity is rational.

At x = 1, log x = 0 and log(1 - x) is clamped to -100 (derivative 0); at x = 0 the reverse. From
``l = -w [y Lx + (1 - y) L1]`` and its derivatives (oracle.bce_terms):

    x = 1:  value 100 w (1 - y),  input -w y,       target -100 w,  weight 100 (1 - y)
    x = 0:  value 100 w y,        input w (1 - y),  target 100 w,   weight 100 y

These exact rationals are rounded directly; they are frequent (probabilities that round to 0 or
1 in a low precision) and are often midpoints, which no float64 enclosure decides.
"""

from __future__ import annotations

from fractions import Fraction


def bce_edge_quantity(name: str, x: float, y: Fraction, w: Fraction) -> Fraction | None:
    """The exact quantity at x in {0, 1} (finite rational y, w), else None."""
    if x == 1.0:
        table = {
            "value": 100 * w * (1 - y),
            "input": -w * y,
            "target": -100 * w,
            "weight": 100 * (1 - y),
        }
    elif x == 0.0:
        table = {"value": 100 * w * y, "input": w * (1 - y), "target": 100 * w, "weight": 100 * y}
    else:
        return None
    return table[name]
