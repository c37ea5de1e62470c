"""Exact values of the losses as linear forms over a few transcendental functions.

Every finite value the oracle produces is written exactly as

    value = c0 + sum_k c_k * F_k

with rational ``c0, c_k`` and each ``F_k`` one of

* ``log 2`` and ``log n`` for odd integers ``n > 1``           (binary_cross_entropy);
* ``softplus_t = log(1 + e^{-t})`` for rational ``t > 0``        (with_logits, loss and its
  derivatives in target, weight and pos_weight; ``t = 0`` is ``log 2``);
* ``expit_t = 1 / (1 + e^{t})`` for rational ``t > 0``           (with_logits, derivative in input).

Why this makes rounding provable. A rounding boundary (a representable number or a midpoint) is
rational. When the transcendental part is not identically zero the value is irrational, so an
enclosure that shrinks around it must end up inside one rounding interval:

* ``c0 + sum c_k log a_k`` with rational ``a_k > 0`` is ``c0 + log(A)/D`` for a rational
  ``A``; by Hermite-Lindemann it is irrational unless ``A == 1``. ``A == 1`` is decided exactly
  by writing every ``a_k`` over a coprime base (factor refinement): the logs of pairwise coprime
  integers > 1 are linearly independent over Q.
* ``c0 + sum c_k softplus_{t_k}`` (distinct ``t_k >= 0``) is irrational unless every
  ``c_k == 0``: if it equalled a rational ``r`` then clearing denominators gives
  ``prod (1 + e^{-t_k})^{n_k} = e^{D r}``; by Lindemann-Weierstrass both sides must agree as
  formal exponential polynomials, and the cyclotomic factor ``Phi_{2T}`` of ``1 + s^T`` for the
  largest exponent ``T`` appears on one side only.
* ``c0 + c * expit_t`` with ``c != 0`` is irrational because ``e^t`` is transcendental.

So after merging equal keys, a form with no terms (or whose logs cancel over the coprime base) is
exactly its rational constant, and any other form is irrational and its rounding is decided by
interval refinement (mpmath's ``iv`` context, with each elementary enclosure widened by 16 ulps
of the working precision as insurance against a misrounded endpoint), raising the precision until
both endpoints round alike. A precision cap ends the loop with ``UncertifiedError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from fractions import Fraction

from mpmath import iv

from oracle.errors import UncertifiedError
from oracle.formats import Format, round_rational_bits

Key = tuple  # ("log2",) | ("log_odd", n) | ("softplus", t) | ("expit", t)

LOG2: Key = ("log2",)
PRECISION_CAP = 1 << 14
# Below this binary exponent an enclosure endpoint is not turned into an exact Fraction.
_EXACT_EXPONENT_FLOOR = -(1 << 20)


class Form:
    """``const + sum(coef * F(key))`` with exact rational coefficients; immutable by contract."""

    __slots__ = ("const", "terms")

    def __init__(self, const: Fraction | int = 0, terms: Mapping[Key, Fraction] | None = None):
        self.const = Fraction(const)
        self.terms: dict[Key, Fraction] = {k: Fraction(c) for k, c in (terms or {}).items() if c}

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def constant(cls, value: Fraction | int) -> Form:
        return cls(value)

    @classmethod
    def log(cls, a: Fraction) -> Form:
        """log(a) for a rational a > 0, as integer multiples of log 2 and logs of odd integers."""
        a = Fraction(a)
        if a <= 0:
            raise ValueError("log of a non-positive number")
        terms: dict[Key, Fraction] = {}
        for integer, sign in ((a.numerator, 1), (a.denominator, -1)):
            twos = (integer & -integer).bit_length() - 1
            odd = integer >> twos
            if twos:
                terms[LOG2] = terms.get(LOG2, Fraction(0)) + sign * twos
            if odd > 1:
                terms[("log_odd", odd)] = terms.get(("log_odd", odd), Fraction(0)) + sign
        return cls(0, terms)

    @classmethod
    def softplus_neg(cls, x: Fraction) -> Form:
        """log(1 + e^{-x}) for rational x: log 2 at 0; |x| + log(1 + e^{-|x|}) for x < 0."""
        x = Fraction(x)
        if x == 0:
            return cls(0, {LOG2: Fraction(1)})
        if x > 0:
            return cls(0, {("softplus", x): Fraction(1)})
        return cls(-x, {("softplus", -x): Fraction(1)})

    @classmethod
    def sigmoid(cls, x: Fraction) -> Form:
        """sigma(x) = 1 / (1 + e^{-x}): 1/2 at 0; 1 - expit_x for x > 0; expit_{|x|} for x < 0."""
        x = Fraction(x)
        if x == 0:
            return cls(Fraction(1, 2))
        if x > 0:
            return cls(1, {("expit", x): Fraction(-1)})
        return cls(0, {("expit", -x): Fraction(1)})

    # -- arithmetic --------------------------------------------------------------------------
    def __add__(self, other: Form | Fraction | int) -> Form:
        if not isinstance(other, Form):
            return Form(self.const + Fraction(other), self.terms)
        terms = dict(self.terms)
        for k, c in other.terms.items():
            terms[k] = terms.get(k, Fraction(0)) + c
        return Form(self.const + other.const, terms)

    __radd__ = __add__

    def __neg__(self) -> Form:
        return Form(-self.const, {k: -c for k, c in self.terms.items()})

    def __sub__(self, other: Form | Fraction | int) -> Form:
        return self + (-other if isinstance(other, Form) else -Fraction(other))

    def __rsub__(self, other: Fraction | int) -> Form:
        return (-self) + other

    def scale(self, factor: Fraction | int) -> Form:
        f = Fraction(factor)
        if f == 0:
            return Form(0)
        return Form(self.const * f, {k: c * f for k, c in self.terms.items()})

    def __mul__(self, factor: Fraction | int) -> Form:
        return self.scale(factor)

    __rmul__ = __mul__

    @staticmethod
    def sum(forms: Iterable[Form]) -> Form:
        const = Fraction(0)
        terms: dict[Key, Fraction] = {}
        for f in forms:
            const += f.const
            for k, c in f.terms.items():
                terms[k] = terms.get(k, Fraction(0)) + c
        return Form(const, terms)

    # -- exactness ---------------------------------------------------------------------------
    @property
    def is_constant(self) -> bool:
        return not self.terms

    def transcendental_part_vanishes(self) -> bool | None:
        """True if ``sum c_k F_k == 0`` exactly, False if it is provably not, None if unknown."""
        if not self.terms:
            return True
        families = {k[0] for k in self.terms}
        if families <= {"log2", "log_odd"}:
            if len(self.terms) == 1:
                return False
            return not _log_coefficients_over_coprime_base(self.terms)
        if families <= {"log2", "softplus"}:
            return False
        if families == {"expit"} and len(self.terms) == 1:
            return False
        return None

    def __repr__(self) -> str:
        parts = [str(self.const)] + [f"{c}*{k}" for k, c in self.terms.items()]
        return "Form(" + " + ".join(parts) + ")"


def _log_coefficients_over_coprime_base(terms: Mapping[Key, Fraction]) -> dict[int, Fraction]:
    """Coefficients of ``sum c_k log a_k`` over a multiplicatively independent base.

    The base is 2 plus a coprime base of the odd integers (factor refinement): pairwise coprime
    integers > 1 have linearly independent logarithms, so the sum is zero iff every returned
    coefficient is zero (the empty dict).
    """
    base: set[int] = {k[1] for k in terms if k[0] == "log_odd"}
    changed = True
    while changed:
        changed = False
        items = sorted(base)
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                g = math.gcd(a, b)
                if g > 1:
                    base -= {a, b}
                    base |= {v for v in (a // g, b // g, g) if v > 1}
                    changed = True
                    break
            if changed:
                break
    coefficients: dict[int, Fraction] = {}
    for key, c in terms.items():
        if key[0] == "log2":
            coefficients[2] = coefficients.get(2, Fraction(0)) + c
            continue
        n = key[1]
        for b in base:
            e = 0
            while n % b == 0:
                n //= b
                e += 1
            if e:
                coefficients[b] = coefficients.get(b, Fraction(0)) + c * e
        if n != 1:  # pragma: no cover - factor refinement guarantees a complete factorisation
            raise AssertionError("coprime base does not factor a key")
    return {b: c for b, c in coefficients.items() if c}


# ---------------------------------------------------------------------------------------------
# Enclosures
# ---------------------------------------------------------------------------------------------


def _iv_rational(q: Fraction):
    if q.denominator == 1:
        return iv.mpf(q.numerator)
    return iv.mpf(q.numerator) / iv.mpf(q.denominator)


def _widen(x):
    """Widen an interval by 16 ulps of the working precision on each side (outward)."""
    eps = iv.mpf(2) ** (4 - iv.prec)
    mag = max(abs(x.a), abs(x.b))
    return x + iv.mpf([-1, 1]) * eps * mag


def _exp_neg(t: Fraction):
    """An interval holding e^{-t} for rational t > 0, with the working precision's relative
    accuracy however large t is: the reduction of t by ln 2 loses about log2(t) bits, so the
    exponential is taken with that many bits more (mpmath's exponent range is unbounded;
    e^{-10^300} costs about 15 ms). Powers of two bracketing 2^{-t/ln 2} would be fast but
    only within a factor 2^{t/10^4}, and a value printed from them has no correct digit."""
    old = iv.prec
    iv.prec = old + max(0, t.numerator.bit_length() - t.denominator.bit_length()) + 16
    try:
        return _widen(iv.exp(-_iv_rational(t)))
    finally:
        iv.prec = old


def _log1p_small(u):
    """An interval holding log(1 + u) for an interval 0 < u <= 1/16, with relative accuracy.

    The series u - u^2/2 + u^3/3 - ... alternates with decreasing terms, so a partial sum with
    an even number of terms is a lower bound and one with an odd number an upper bound; log1p
    increases, so the lower end is taken at u.a and the upper end at u.b.
    """
    target = iv.mpf(2) ** (-(iv.prec + 8))

    def partial_sums(x):
        x = iv.mpf(x)
        power, total, k, sums = x, iv.mpf(0), 1, []
        while True:
            term = power / k
            total = total + term if k % 2 else total - term
            sums.append(total)
            if k % 2 == 0 and term.b < target * x.a:
                return sums[-1], sums[-1] + power * x / (k + 1)  # S_2m and S_2m+1
            power, k = power * x, k + 1

    lower, _ = partial_sums(u.a)
    _, upper = partial_sums(u.b)
    return iv.mpf([lower.a, upper.b])


def _enclose_key(key: Key):
    kind = key[0]
    if kind == "log2":
        return _widen(iv.log(iv.mpf(2)))
    if kind == "log_odd":
        return _widen(iv.log(iv.mpf(key[1])))
    u = _exp_neg(key[1])
    if kind == "softplus":
        if u.b < iv.mpf(2) ** -(iv.prec + 8):
            # 0 < u: u - u^2/2 <= log(1 + u) <= u, the gap below the working precision.
            ua = iv.mpf(u.a)
            return iv.mpf([(ua - ua * ua / 2).a, u.b])
        if u.b <= iv.mpf(1) / 16:
            return _log1p_small(u)
        return _widen(iv.log(1 + u))
    if kind == "expit":
        # 1 / (1 + e^{t}) = u / (1 + u), increasing in u.
        ua, ub = iv.mpf(u.a), iv.mpf(u.b)
        return iv.mpf([(ua / (1 + ua)).a, (ub / (1 + ub)).b])
    raise AssertionError(f"unknown key {key!r}")


def enclose_transcendental_part(form: Form, prec: int):
    """An mpmath interval holding ``sum c_k F_k`` (the constant excluded), at ``prec`` bits."""
    old = iv.prec
    iv.prec = prec
    try:
        total = iv.mpf(0)
        for key, c in form.terms.items():
            total = total + _iv_rational(c) * _enclose_key(key)
        return total
    finally:
        iv.prec = old


def enclose_value(form: Form, prec: int):
    """Exact rational bounds ``(lo, hi)`` of a form's value at ``prec`` bits; ``(None, None)``
    where an endpoint is not finite; ``("tiny", part)`` where the transcendental part is below
    2**-(2**20) (too small to convert exactly; ``part`` is its mpmath interval)."""
    part = enclose_transcendental_part(form, prec)
    lo_t, hi_t = part._mpi_
    from mpmath.libmp import finf, fnan, fninf

    for t in (lo_t, hi_t):
        if t in (finf, fninf, fnan):
            return None, None
    if max(_exponent(lo_t), _exponent(hi_t)) < _EXACT_EXPONENT_FLOOR:
        return "tiny", part
    if min(_exponent(lo_t), _exponent(hi_t)) < _EXACT_EXPONENT_FLOOR:
        return None, None
    return form.const + _mpf_to_fraction(lo_t), form.const + _mpf_to_fraction(hi_t)


def _mpf_to_fraction(t: tuple) -> Fraction:
    sign, man, exp, _ = t
    if not man:
        return Fraction(0)
    v = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return -v if sign else v


def _exponent(t: tuple) -> int:
    """Binary exponent of the leading bit of an mpf tuple (very negative for zero)."""
    _, man, exp, bc = t
    return exp + bc if man else -(1 << 62)


def _round_with_enclosure(const: Fraction, part, fmt: Format) -> int | None:
    """Bits of round(const + x) for every x in ``part``, or None if they differ."""
    lo_t, hi_t = part._mpi_
    from mpmath.libmp import finf, fnan, fninf

    if lo_t in (finf, fninf, fnan) or hi_t in (finf, fninf, fnan):
        return None
    if min(_exponent(lo_t), _exponent(hi_t)) >= _EXACT_EXPONENT_FLOOR or not (lo_t[1] or hi_t[1]):
        lo = round_rational_bits(const + _mpf_to_fraction(lo_t), fmt)
        hi = round_rational_bits(const + _mpf_to_fraction(hi_t), fmt)
        return lo if lo == hi else None
    # Astronomically small part: if it has one strict sign and is below the spacing of every
    # rounding boundary around const (1 / (den * 2**1076)), it acts as an infinitesimal nudge.
    lo_sign = -1 if lo_t[0] and lo_t[1] else (1 if lo_t[1] else 0)
    hi_sign = -1 if hi_t[0] and hi_t[1] else (1 if hi_t[1] else 0)
    if lo_sign != hi_sign or lo_sign == 0:
        return None
    if max(_exponent(lo_t), _exponent(hi_t)) > -(const.denominator.bit_length() + 1076):
        return None
    return round_rational_bits(const, fmt, nudge=lo_sign)


def round_form_bits(form: Form, fmt: Format) -> int:
    """Bit pattern of the correctly rounded value of ``form`` in ``fmt``, proved by refinement."""
    if form.is_constant:
        return round_rational_bits(form.const, fmt)
    vanishes: bool | None = None
    checked = False
    prec = fmt.precision + 40
    while prec <= PRECISION_CAP:
        bits = _round_with_enclosure(form.const, enclose_transcendental_part(form, prec), fmt)
        if bits is not None:
            return bits
        if not checked and prec >= 4 * fmt.precision + 64:
            vanishes, checked = form.transcendental_part_vanishes(), True
            if vanishes:
                return round_rational_bits(form.const, fmt)
        prec *= 2
    raise UncertifiedError(
        f"could not certify the rounding of {form!r} to {fmt.name} within {PRECISION_CAP} bits"
        + ("" if vanishes is False else " (exactness undecided)")
    )


def _sign_of_const_plus(const: Fraction, t: tuple) -> int:
    """Sign of ``const + e`` for one enclosure endpoint ``e`` (an mpf tuple)."""
    if _exponent(t) >= _EXACT_EXPONENT_FLOOR:
        total = const + _mpf_to_fraction(t)
        return (total > 0) - (total < 0)
    if const != 0:  # |e| < 2**-(2**20) is below any non-zero constant the oracle builds
        return 1 if const > 0 else -1
    return 0 if not t[1] else (-1 if t[0] else 1)


def sign_of(form: Form) -> int:
    """The exact sign (-1, 0, +1) of a form's value."""
    if form.is_constant:
        return (form.const > 0) - (form.const < 0)
    prec = 64
    checked = False
    while prec <= PRECISION_CAP:
        part = enclose_transcendental_part(form, prec)
        lo_t, hi_t = part._mpi_
        if _sign_of_const_plus(form.const, lo_t) > 0:
            return 1
        if _sign_of_const_plus(form.const, hi_t) < 0:
            return -1
        if not checked and prec >= 256:
            checked = True
            if form.transcendental_part_vanishes():
                return (form.const > 0) - (form.const < 0)
        prec *= 2
    raise UncertifiedError(f"could not decide the sign of {form!r}")


def approximate(form: Form) -> float:
    """A float64 approximation (not certified; for display and tolerances), inf beyond range.

    The precision doubles from 64 bits until the enclosure is relatively narrower than 2^-60
    (terms that cancel need more than 64 bits), up to 4096 bits.
    """
    from mpmath import mp

    prec = 64
    while True:
        part = enclose_transcendental_part(form, prec)
        old = iv.prec
        iv.prec = prec
        try:
            total = _iv_rational(form.const) + part
            narrow = total.delta <= abs(total.mid) * iv.mpf(2) ** -60
        finally:
            iv.prec = old
        if narrow or prec >= 4096:
            break
        prec *= 2
    with mp.workprec(prec):
        value = mp.mpf(form.const.numerator) / form.const.denominator + part.mid
    return float(value)
