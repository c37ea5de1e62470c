"""Extended-real exact values: a finite linear Form, +inf, -inf or NaN, with their arithmetic.

Rules (docs/semantics.md, "Special values"):
* NaN absorbs everything.
* ``+inf + -inf`` is NaN: the elements of a sum are independent, so the sum has no limit.
* Scaling by an exact rational: ``0 * (+-inf) = 0`` because the factor is identically zero
  along the approach to the limit; any other factor keeps or flips the infinity.
"""

from __future__ import annotations

import math
from fractions import Fraction

from mpmath import mp

from oracle.formats import Format
from oracle.linear_forms import (
    Form,
    approximate,
    enclose_transcendental_part,
    round_form_bits,
    sign_of,
)


class Ext:
    """One exact extended-real value."""

    __slots__ = ("kind", "form")

    def __init__(self, kind: str, form: Form | None = None):
        self.kind = kind  # "finite" | "+inf" | "-inf" | "nan"
        self.form = form

    @classmethod
    def finite(cls, form: Form | Fraction | int) -> Ext:
        return cls("finite", form if isinstance(form, Form) else Form.constant(form))

    @classmethod
    def infinity(cls, sign: int) -> Ext:
        return cls("+inf" if sign > 0 else "-inf")

    @classmethod
    def nan(cls) -> Ext:
        return cls("nan")

    @property
    def is_finite(self) -> bool:
        return self.kind == "finite"

    def sign(self) -> int:
        """Exact sign; NaN has none (ValueError)."""
        if self.kind == "nan":
            raise ValueError("NaN has no sign")
        if self.kind == "+inf":
            return 1
        if self.kind == "-inf":
            return -1
        return sign_of(self.form)

    def __add__(self, other: Ext) -> Ext:
        if self.kind == "nan" or other.kind == "nan":
            return Ext.nan()
        if self.is_finite and other.is_finite:
            return Ext.finite(self.form + other.form)
        if self.is_finite:
            return other
        if other.is_finite or other.kind == self.kind:
            return self
        return Ext.nan()

    def scale(self, factor: Fraction | int) -> Ext:
        factor = Fraction(factor)
        if self.kind == "nan":
            return self
        if self.is_finite:
            return Ext.finite(self.form.scale(factor))
        if factor == 0:
            return Ext.finite(0)
        return Ext.infinity((1 if self.kind == "+inf" else -1) * (1 if factor > 0 else -1))

    def approximate(self) -> float:
        """A float64 approximation (not certified; for display and tolerances)."""
        if self.kind == "nan":
            return float("nan")
        if not self.is_finite:
            return float("inf") if self.kind == "+inf" else float("-inf")
        return approximate(self.form)

    def rounded_bits(self, fmt: Format) -> int:
        if self.kind == "nan":
            return fmt.inf_bits | (1 << (fmt.precision - 2))
        if self.kind == "+inf":
            return fmt.inf_bits
        if self.kind == "-inf":
            return fmt.inf_bits | fmt.sign_bit
        return round_form_bits(self.form, fmt)

    def decimal(self, digits: int = 30) -> str:
        """A decimal rendering for people (not a certificate)."""
        if not self.is_finite:
            return {"nan": "nan", "+inf": "inf", "-inf": "-inf"}[self.kind]
        if self.form.is_constant:
            c = self.form.const
            if c.denominator == 1 or (c.denominator & (c.denominator - 1)) == 0:
                with mp.workprec(max(64, 4 * digits)):
                    return mp.nstr(mp.mpf(c.numerator) / c.denominator, digits)
        part = enclose_transcendental_part(self.form, max(64, 4 * digits))
        with mp.workprec(max(64, 4 * digits)):
            value = mp.mpf(self.form.const.numerator) / self.form.const.denominator + part.mid
            return mp.nstr(value, digits)

    def __repr__(self) -> str:
        return f"Ext({self.kind}{'' if self.form is None else ', ' + repr(self.form)})"


ZERO = Ext.finite(0)


def ext_sum(values) -> Ext:
    """The exact sum, in time linear in the total number of terms (no copy per addition).

    Same rules as repeated ``+``: NaN absorbs, ``+inf`` with ``-inf`` is NaN, an infinity
    absorbs finite values; the finite forms are merged once by ``Form.sum``.
    """
    kinds: set[str] = set()
    forms = []
    for v in values:
        if v.kind == "finite":
            forms.append(v.form)
        else:
            kinds.add(v.kind)
    if "nan" in kinds or {"+inf", "-inf"} <= kinds:
        return Ext.nan()
    if kinds:
        return Ext(kinds.pop())
    return Ext.finite(Form.sum(forms)) if forms else ZERO


def exact_number(value: Fraction | float) -> Ext:
    """An exact input number (Fraction, or float inf/nan) as an Ext."""
    if isinstance(value, Fraction):
        return Ext.finite(value)
    if math.isnan(value):
        return Ext.nan()
    return Ext.infinity(1 if value > 0 else -1)


__all__ = ["Ext", "ZERO", "ext_sum", "exact_number"]
