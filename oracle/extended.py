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

from oracle.errors import UncertifiedError
from oracle.formats import FORMATS, Format, round_rational_bits
from oracle.linear_forms import (
    PRECISION_CAP,
    Form,
    approximate,
    enclose_value,
    round_form_bits,
    sign_of,
)

_MAX_DIGITS = 2048  # a float64 tie has at most 767 significant digits
_FAR_EXPONENT = 5000  # a decimal exponent beyond every format's range


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
        """The value in decimal, at least ``digits`` significant digits, all correct, and enough
        of them that the printed number rounds to the same value as the exact one in every
        format of ``oracle.formats.FORMATS`` (an exact tie between two floats, such as a
        subnormal halved, needs its whole expansion: the digits are doubled until it rounds
        alike; a dyadic rational's expansion is finite).
        """
        text = self._decimal(digits)
        while self.is_finite and digits < _MAX_DIGITS and not self._rounds_alike(text):
            digits *= 2
            text = self._decimal(digits)
        return text

    def _rounds_alike(self, text: str) -> bool:
        mantissa, _, exponent = text.lower().partition("e")
        if exponent and abs(int(exponent)) > _FAR_EXPONENT:
            return True  # far outside every format: it and the value round to 0 (or inf) alike
        printed = Fraction(text)
        return all(
            round_rational_bits(printed, fmt) == self.rounded_bits(fmt) for fmt in FORMATS.values()
        )

    def _decimal(self, digits: int) -> str:
        """The value in scientific notation with ``digits`` significant digits, all correct.

        The enclosure of the value is refined (doubling the working precision) until its width
        is below a tenth of a unit in the last printed digit, then its midpoint is printed
        rounded to ``digits`` digits: the printed number is within 0.6 units of the last digit
        of the exact value, however much the form's terms cancel (a tiny value such as 1.12e-44
        made of terms near 100 included). A form whose transcendental part vanishes prints its
        rational constant.
        """
        if not self.is_finite:
            return {"nan": "nan", "+inf": "inf", "-inf": "-inf"}[self.kind]
        form = self.form
        if form.is_constant:
            return decimal_of_rational(form.const, digits)
        prec = max(64, 4 * digits)
        checked = False
        while prec <= PRECISION_CAP:
            lo, hi = enclose_value(form, prec)
            if lo == "tiny":  # |part| < 2**-(2**20): beside any non-zero constant it is nothing
                if form.const != 0:
                    return decimal_of_rational(form.const, digits)
                lo_t, hi_t = hi._mpi_
                with mp.workprec(prec):
                    return mp.nstr((mp.make_mpf(lo_t) + mp.make_mpf(hi_t)) / 2, digits)
            if lo is not None and (lo > 0 or hi < 0):
                if (hi - lo) * 10**digits <= min(abs(lo), abs(hi)):
                    return decimal_of_rational((lo + hi) / 2, digits)
            if not checked and prec >= 1024:
                checked = True
                if form.transcendental_part_vanishes():
                    return decimal_of_rational(form.const, digits)
            prec *= 2
        raise UncertifiedError(f"could not print {form!r} to {digits} correct digits")

    def __repr__(self) -> str:
        return f"Ext({self.kind}{'' if self.form is None else ', ' + repr(self.form)})"


ZERO = Ext.finite(0)


def decimal_of_rational(q: Fraction, digits: int) -> str:
    """``q`` rounded (half to even) to ``digits`` significant decimal digits, as
    ``d.ddd…e±XX`` (``0.0`` for zero)."""
    if q == 0:
        return "0.0"
    sign = "-" if q < 0 else ""
    q = abs(q)
    exponent = len(str(q.numerator)) - len(str(q.denominator))
    if Fraction(10) ** exponent > q:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= q:
        exponent += 1
    scaled = q * Fraction(10) ** (digits - 1 - exponent)
    n = round(scaled)  # Fraction rounds half to even
    if n == 10**digits:
        n //= 10
        exponent += 1
    text = str(n)
    mantissa = text[0] + "." + (text[1:].rstrip("0") or "0")
    return f"{sign}{mantissa}e{exponent:+03d}"


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


__all__ = ["Ext", "ZERO", "decimal_of_rational", "ext_sum", "exact_number"]
