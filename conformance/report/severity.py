"""How bad one divergent element is, for people: relative error and correct bits.

From an example's ``got`` (the backend's value, repr) and ``expected_exact`` (the oracle's exact
value, decimal) alone. The relative error is |got - exact| / |exact| (infinite for a non-zero
``got`` against an exact 0); the correct bits are -log2 of it, from 0 up to the dtype's
precision. The ULP distance is shown only where both values are finite and of one sign: across
zero or against an infinity it counts representable numbers nobody cares about (1.8e19 for 0
against -1e12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

PRECISION = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}
_LARGEST = Fraction(1.7976931348623157e308)  # the largest float64


@dataclass(frozen=True)
class Severity:
    relative_error: float | None  # None where either value is not a finite number
    correct_bits: float | None
    ulp: float | None  # only where both values are finite and of one sign
    note: str = ""  # what to show where there is no number, e.g. "nan against 0.5"


def _number(text: str) -> Fraction | float | None:
    text = (text or "").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return value
    exponent = text.lower().partition("e")[2]
    if exponent.lstrip("+-").isdigit() and abs(int(exponent)) > 400:
        return Fraction(0)  # below every format (the float reading gave 0, not inf)
    try:
        return Fraction(text)
    except ValueError:
        return Fraction(value)


def severity(example: Any, dtype: str) -> Severity:
    """The severity of ``example``'s divergent element (see the module docstring)."""
    got = _number(example.got)
    exact = _number(example.expected_exact or example.expected)
    if got is None or exact is None:
        return Severity(None, None, None, "—")
    if isinstance(got, float) or isinstance(exact, float):
        return Severity(None, None, None, f"{example.got} against {example.expected}")
    if exact == 0:
        rel = 0.0 if got == 0 else math.inf
    else:
        ratio = abs(got - exact) / abs(exact)
        if ratio > _LARGEST:  # e.g. 1e300 against 1e-300: no float holds it
            return Severity(math.inf, 0.0, None, f"> {float(_LARGEST):.2g}")
        rel = float(ratio)
    bits = PRECISION.get(dtype, 53) if rel == 0 else max(0.0, -math.log2(rel)) if rel else 0.0
    bits = min(bits, PRECISION.get(dtype, 53))
    same_sign = (got > 0 and exact > 0) or (got < 0 and exact < 0)
    ulp = example.ulp if same_sign else None
    return Severity(rel, bits, ulp)


def format_relative_error(s: Severity) -> str:
    if s.relative_error is None:
        return s.note
    if math.isinf(s.relative_error):
        return s.note or "inf (exact 0)"
    return f"{s.relative_error:.3g}"


def format_bits(s: Severity) -> str:
    return "—" if s.correct_bits is None else f"{s.correct_bits:.0f}"


def worse(a: Severity, b: Severity) -> Severity:
    """The worse of two severities: a missing number (NaN, inf) is worst, then the larger
    relative error."""
    if a.relative_error is None:
        return a
    if b.relative_error is None:
        return b
    return a if a.relative_error >= b.relative_error else b
