"""Input regimes: the coarse region of the input space an element lies in.

Divergences are grouped into classes by regime ("far tail of the logits, y = 1") rather than
listed example by example. A label is built from the element's input, target, weight and
pos_weight, e.g. ``x:tail+,y=1`` or ``x=0,y=1,w<0``.

binary_cross_entropy, input x:  ``x=0``, ``x=1``, ``x:clamp`` (log x < -100), ``x:near0``
(x < 2**-10), ``x:near1`` (1 - x < 2**-10), ``x:mid``.
with_logits, input x: ``x=0``, ``x=+inf``/``x=-inf``, ``x:far+``/``x:far-`` (e^-|x| below the
dtype's smallest normal: the tail term underflows), ``x:tail+``/``x:tail-`` (e^-|x| below the
dtype's epsilon: 1 + e^-|x| rounds to 1), ``x:mid``.
target y: ``y=0``, ``y=1``, ``y:soft`` (inside), ``y:out`` (outside [0, 1], logits only),
``y=inf``/``y=nan``. weight and pos_weight add ``w=0``, ``w<0``, ``w=inf``, ``w=nan``,
``p=0``, ``p<0``, ``p:big`` (> 2**10), ``p=inf``, ``p=nan`` when they apply.
"""

from __future__ import annotations

import math

import numpy as np

from oracle.formats import format_of

_E100 = math.exp(-100.0)


def _x_label(function: str, x: float, dtype: str) -> str:
    if math.isnan(x):
        return "x=nan"
    if function == "binary_cross_entropy":
        if x == 0:
            return "x=0"
        if x == 1:
            return "x=1"
        if x < _E100:
            return "x:clamp"
        if x < 2.0**-10:
            return "x:near0"
        if 1 - x < 2.0**-10:
            return "x:near1"
        return "x:mid"
    if x == 0:
        return "x=0"
    sign = "+" if x > 0 else "-"
    if math.isinf(x):
        return f"x={sign}inf"
    fmt = format_of(dtype)
    magnitude = abs(x)
    if magnitude > -(fmt.emin) * math.log(2):  # e^-|x| < 2**emin
        return f"x:far{sign}"
    if magnitude > (fmt.precision - 1) * math.log(2):  # e^-|x| < eps
        return f"x:tail{sign}"
    return "x:mid"


def _y_label(y: float) -> str:
    if math.isnan(y):
        return "y=nan"
    if math.isinf(y):
        return "y=inf"
    if y == 0:
        return "y=0"
    if y == 1:
        return "y=1"
    return "y:soft" if 0 < y < 1 else "y:out"


def _weight_label(prefix: str, v: float | None) -> str | None:
    if v is None:
        return None
    if math.isnan(v):
        return f"{prefix}=nan"
    if math.isinf(v):
        return f"{prefix}=inf"
    if v == 0:
        return f"{prefix}=0"
    if v < 0:
        return f"{prefix}<0"
    if prefix == "p" and v > 2.0**10:
        return "p:big"
    return None


def element_regime(
    function: str, dtype: str, x: float, y: float, w: float | None = None, p: float | None = None
) -> str:
    labels = [
        _x_label(function, x, dtype),
        _y_label(y),
        _weight_label("w", w),
        _weight_label("p", p),
    ]
    return ",".join(label for label in labels if label)


def case_element_regime(case, index: tuple[int, ...], with_weights: bool = True) -> str:
    """Regime of element ``index`` (in the target's shape) of a case.

    Accuracy divergences are driven by input and target, so ``with_weights=False`` (used for
    ``value_mismatch``) leaves the weight labels out and keeps such classes few.
    """
    shape = case.target.shape
    if case.target.size == 0 or len(index) != len(shape):
        return "empty"

    def at(a: np.ndarray | None) -> float | None:
        if a is None:
            return None
        return float(np.broadcast_to(a, shape)[index].astype(np.float64))

    w, p = (at(case.weight), at(case.pos_weight)) if with_weights else (None, None)
    return element_regime(case.function, case.dtype, at(case.input), at(case.target), w, p)


def _special(prefix: str, v: float | None) -> str | None:
    if v is None:
        return None
    if math.isnan(v):
        return f"{prefix}=nan"
    if math.isinf(v):
        return f"{prefix}={'+' if v > 0 else '-'}inf" if prefix in ("x", "y") else f"{prefix}=inf"
    if v == 0 and prefix in ("w", "p"):
        return f"{prefix}=0"
    return None


def special_values(case, index: tuple[int, ...] | None = None) -> str:
    """The special arguments (NaN, infinities, zero weights) of one element, or of every element
    when ``index`` is None: the regime of NaN and infinity divergences, e.g. ``x=+inf,w=inf``.
    Empty when there are none."""
    shape = case.target.shape
    if case.target.size == 0:
        return ""
    labels: set[str] = set()
    for prefix, a in (
        ("x", case.input),
        ("y", case.target),
        ("w", case.weight),
        ("p", case.pos_weight),
    ):
        if a is None:
            continue
        values = np.broadcast_to(a, shape).astype(np.float64)
        picked = [float(values[index])] if index is not None else values.reshape(-1).tolist()
        labels.update(label for v in picked if (label := _special(prefix, v)))
    order = {"x": 0, "y": 1, "w": 2, "p": 3}
    return ",".join(sorted(labels, key=lambda s: (order[s[0]], s)))
