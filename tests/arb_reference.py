"""An independent reference for the BCE losses: python-flint Arb balls and our own rounding.

This module shares no code with ``oracle/``: values are Arb balls (python-flint), rounding is a
separate round-half-even written here, and exactness is decided by its own algebra. It exists to
cross-check the mpmath oracle (tests/test_oracle_vs_arb.py).

Formulas, for one element (docs' notation; all arguments finite and exact):

binary_cross_entropy, x and y in [0, 1], ``L(a) = max(log a, -100)``::

    l     = -w [y L(x) + (1 - y) L(1 - x)]
    d/dx  = -w [y D(x) - (1 - y) D(1 - x)],   D(a) = 1/a, or 0 where the clamp is active
    d/dy  = -w [L(x) - L(1 - x)]
    d/dw  = -[y L(x) + (1 - y) L(1 - x)]

binary_cross_entropy_with_logits, ``sp(s) = log1p(exp(s))``, ``sigmoid(s) = 1 / (1 + exp(-s))``::

    l     = w [p y sp(-x) + (1 - y) sp(x)]
    d/dx  = w [(1 - y + p y) sigmoid(x) - p y]
    d/dy  = w [p sp(-x) - sp(x)]
    d/dp  = w y sp(-x)
    d/dw  = p y sp(-x) + (1 - y) sp(x)

Reductions: ``sum`` is the exact sum and ``mean`` the exact sum divided by N.

A quantity is held as ``const + sum(coef * atom)`` (exact rational ``const`` and ``coef``; atoms
``log(a)``, ``sp(s)``, ``sigmoid(s)`` of exact rationals), which is just the formula above with
the weights distributed. Rounding it into a format (:func:`round_quantity`):

1. *literal*: evaluate the formula as written with Arb at increasing precision (``sp(s)`` as
   ``log1p(exp(s))``, ``sigmoid(s)`` as ``1/(1 + exp(-s))``) and accept a rounding only when both
   endpoints of the ball round to the same bit pattern (rounding with the sign rule below is
   monotone, so the whole ball then rounds alike).
2. *algebra*: when the first literal ball cannot decide (an exact value on a rounding boundary,
   such as an exact 0, never shrinks to one side), the atoms are folded with ``sp(s) = s + sp(-s)``
   and ``sigmoid(s) = 1 - sigmoid(-s)`` (and logs over a coprime base of integers); if every
   folded coefficient vanishes the value is the rational constant, rounded exactly, after checking
   that a literal ball contains it.
3. *folded*: when the literal balls still cannot decide by the literal cap (a cancellation the
   literal formula cannot resolve, such as ``sigmoid(x) - 1`` for huge x), the value is ``const + part`` with an irrational ``part``; it is enclosed
   with the stable folded atoms (``sp(-t)``, ``sigmoid(-t)``, t >= 0) and rounded from the ball
   endpoints of ``part`` added exactly to ``const``. An endpoint below ``2^-K`` in magnitude
   (``K = bits(den const) + 3 - qmin``) is replaced by ``+-2^-K``: every rounding boundary is a
   multiple of ``2^(qmin-1)``, so none lies strictly between ``const`` and ``const +- 2^-K``.

Rounding (:func:`round_fraction`): IEEE 754 round-half-even from an exact rational, directly into
the target format, with subnormals and overflow to infinity. An exact zero is +0; a non-zero value
that rounds to zero keeps its sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from flint import arb, ctx, fmpq

# ---------------------------------------------------------------------------------------------
# Formats and rounding
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetFormat:
    """A binary floating-point format: ``precision`` significand bits (hidden bit included)."""

    name: str
    precision: int
    emax: int

    @property
    def emin(self) -> int:
        return 1 - self.emax

    @property
    def qmin(self) -> int:
        """Exponent of the smallest subnormal."""
        return self.emin - self.precision + 1

    @property
    def max_finite(self) -> Fraction:
        return (2 - Fraction(1, 2 ** (self.precision - 1))) * Fraction(2) ** self.emax

    @property
    def dtype(self) -> np.dtype:
        if self.name == "bfloat16":
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(self.name)

    @property
    def uint(self) -> np.dtype:
        return np.dtype(f"uint{self.dtype.itemsize * 8}")


TARGET_FORMATS = {
    f.name: f
    for f in (
        TargetFormat("float64", 53, 1023),
        TargetFormat("float32", 24, 127),
        TargetFormat("float16", 11, 15),
        TargetFormat("bfloat16", 8, 127),
    )
}

# A rounded value is returned as a Python float (every value of the four formats is a float64
# value, so this is exact) carrying the sign of zero and +-inf; to_bits() encodes a list of them.


def round_fraction(q: Fraction, fmt: TargetFormat) -> float:
    """``q`` rounded to nearest, ties to even, into ``fmt`` (an exact 0 gives +0.0)."""
    if q == 0:
        return 0.0
    negative = q < 0
    a = -q if negative else q
    num, den = a.numerator, a.denominator
    e = num.bit_length() - den.bit_length()  # floor(log2 a) is e or e - 1
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    e = max(e, fmt.emin)
    step = Fraction(2) ** (e - fmt.precision + 1)
    m = round(a / step)  # Fraction.__round__: half to even
    value = m * step
    if value > fmt.max_finite:
        out = math.inf
    else:
        out = float(value)  # exact: value is representable in float64
    return -out if negative else out


def round_dyadic(n: int, e: int, fmt: TargetFormat) -> float:
    """``n * 2**e`` rounded into ``fmt``; exponents of any size are fine."""
    if n == 0:
        return 0.0
    top = e + abs(n).bit_length()  # 2**(top-1) <= |v| < 2**top
    if top <= fmt.qmin - 1:  # |v| < half the smallest subnormal
        return -0.0 if n < 0 else 0.0
    if top - 1 >= fmt.emax + 1:  # |v| >= 2**(emax+1): beyond the overflow threshold
        return -math.inf if n < 0 else math.inf
    return round_fraction(Fraction(n) * Fraction(2) ** e, fmt)


def to_bits(values: list[float], fmt: TargetFormat) -> np.ndarray:
    """Bit patterns (unsigned ints) of exactly representable values in ``fmt``."""
    wide = np.array(values, dtype=np.float64)
    narrow = wide.astype(fmt.dtype)
    back = narrow.astype(np.float64)
    same = (back == wide) | (np.isnan(back) & np.isnan(wide))
    if not np.all(same & (np.signbit(back) == np.signbit(wide))):
        raise AssertionError("to_bits: a value is not representable in " + fmt.name)
    return narrow.view(fmt.uint)


def same_rounding(a: float, b: float) -> bool:
    """Bitwise equality of two rounded values (so -0.0 and +0.0 differ)."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


# ---------------------------------------------------------------------------------------------
# Ball endpoints as exact dyadics
# ---------------------------------------------------------------------------------------------

_ALIGN_LIMIT = 256  # bits; beyond this gap a ball is widened (soundly) before aligning


def ball_endpoints(ball: arb) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``((n_lo, e), (n_hi, e))`` with ``[n_lo 2^e, n_hi 2^e]`` containing the ball; None if
    the ball is not finite."""
    if not ball.is_finite():
        return None
    mm, me = (int(v) for v in ball.mid().man_exp())
    rm, re_ = (int(v) for v in ball.rad().man_exp())
    if rm == 0:
        return (mm, me), (mm, me)
    if mm == 0:
        return (-rm, re_), (rm, re_)
    mid_top = me + abs(mm).bit_length()
    rad_top = re_ + rm.bit_length()
    if rad_top < me - _ALIGN_LIMIT:  # radius far below the midpoint's last bit: enlarge it
        rm, re_ = 1, me - _ALIGN_LIMIT
    elif mid_top < re_ - _ALIGN_LIMIT:  # midpoint negligible: [-2^(rad_top+1), 2^(rad_top+1)]
        return (-1, rad_top + 1), (1, rad_top + 1)
    e = min(me, re_)
    m = mm << (me - e)
    r = rm << (re_ - e)
    return (m - r, e), (m + r, e)


def round_ball(ball: arb, fmt: TargetFormat) -> float | None:
    """The rounding of every point of ``ball``, or None if its endpoints round differently."""
    ends = ball_endpoints(ball)
    if ends is None:
        return None
    lo = round_dyadic(*ends[0], fmt)
    hi = round_dyadic(*ends[1], fmt)
    return lo if same_rounding(lo, hi) else None


def _const_plus_dyadic(const: Fraction, n: int, e: int, fmt: TargetFormat) -> float:
    """Rounding of ``const + n 2^e`` (exact), with the tiny-endpoint rule of the module doc."""
    if n == 0:
        return round_fraction(const, fmt)
    top = e + abs(n).bit_length()
    k = const.denominator.bit_length() + 3 - fmt.qmin
    if top <= -k:
        return round_fraction(const + Fraction(1 if n > 0 else -1, 2**k), fmt)
    const_top = abs(const.numerator).bit_length() - const.denominator.bit_length() + 1
    if top - 1 >= max(const_top, fmt.emax + 1) + 2:  # |n 2^e| dwarfs const and overflows
        return -math.inf if n < 0 else math.inf
    return round_fraction(const + Fraction(n) * Fraction(2) ** e, fmt)


def round_const_plus_ball(const: Fraction, part: arb, fmt: TargetFormat) -> float | None:
    ends = ball_endpoints(part)
    if ends is None:
        return None
    lo = _const_plus_dyadic(const, *ends[0], fmt)
    hi = _const_plus_dyadic(const, *ends[1], fmt)
    return lo if same_rounding(lo, hi) else None


def ball_contains(ball: arb, q: Fraction) -> bool:
    ends = ball_endpoints(ball)
    if ends is None:
        return True  # an infinite or NaN ball holds no information; nothing to contradict
    (nl, el), (nh, eh) = ends
    if min(el, eh) < -(1 << 20) or max(el, eh) > (1 << 20):
        return True  # astronomically scaled endpoints: not checked
    return Fraction(nl) * Fraction(2) ** el <= q <= Fraction(nh) * Fraction(2) ** eh


# ---------------------------------------------------------------------------------------------
# Exact arithmetic helpers in Arb
# ---------------------------------------------------------------------------------------------


def arb_of(q: Fraction) -> arb:
    """``q`` as an Arb ball: exact when q is dyadic, else a ball at the working precision."""
    n, d = q.numerator, q.denominator
    if d & (d - 1) == 0:
        return arb((n, 1 - d.bit_length()))
    return arb(fmpq(n, d))


class _Prec:
    def __init__(self, prec: int):
        self.prec = prec

    def __enter__(self):
        self.old = ctx.prec
        ctx.prec = self.prec

    def __exit__(self, *exc):
        ctx.prec = self.old


def _log_literal(a: Fraction) -> arb:
    return arb_of(a).log()


def _softplus_literal(s: Fraction) -> arb:
    return arb_of(s).exp().log1p()


def _sigmoid_literal(s: Fraction) -> arb:
    return 1 / (1 + (-arb_of(s)).exp())


def _softplus_stable(s: Fraction) -> arb:
    """sp(s) for s <= 0 (folded atoms only)."""
    return arb_of(s).exp().log1p()


def _sigmoid_stable(s: Fraction) -> arb:
    """sigmoid(s) for s < 0 (folded atoms only): e^s / (1 + e^s)."""
    u = arb_of(s).exp()
    return u / (1 + u)


LITERAL_ATOMS = {"log": _log_literal, "sp": _softplus_literal, "sigmoid": _sigmoid_literal}
STABLE_ATOMS = {"log": _log_literal, "sp": _softplus_stable, "sigmoid": _sigmoid_stable}


# ---------------------------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------------------------


class Quantity:
    """``const + sum(coef * atom)`` with exact rationals; atoms are ``(kind, argument)``."""

    __slots__ = ("const", "terms")

    def __init__(self, const: Fraction | int = 0, terms: dict | None = None):
        self.const = Fraction(const)
        self.terms = {k: Fraction(c) for k, c in (terms or {}).items() if c}

    def __add__(self, other: Quantity) -> Quantity:
        terms = dict(self.terms)
        for k, c in other.terms.items():
            terms[k] = terms.get(k, 0) + c
        return Quantity(self.const + other.const, terms)

    def scale(self, f: Fraction | int) -> Quantity:
        f = Fraction(f)
        return Quantity(self.const * f, {k: c * f for k, c in self.terms.items()})

    def ball(self, prec: int, atoms=LITERAL_ATOMS, with_const: bool = True) -> arb:
        with _Prec(prec):
            total = arb_of(self.const) if with_const else arb(0)
            for (kind, arg), c in self.terms.items():
                total += arb_of(c) * atoms[kind](arg)
            return total

    def folded(self) -> Quantity:
        """The same value over canonical atoms: sp(s), s <= 0; sigmoid(s), s < 0; logs kept."""
        const = self.const
        terms: dict = {}
        for (kind, arg), c in self.terms.items():
            if kind == "sp" and arg > 0:  # sp(s) = s + sp(-s)
                const += c * arg
                key = ("sp", -arg)
            elif kind == "sigmoid" and arg > 0:  # sigmoid(s) = 1 - sigmoid(-s)
                const += c
                key, c = ("sigmoid", -arg), -c
            elif kind == "sigmoid" and arg == 0:
                const += c / 2
                continue
            else:
                key = (kind, arg)
            terms[key] = terms.get(key, 0) + c
        return Quantity(const, terms)

    def transcendental_part_vanishes(self) -> bool:
        """On a folded quantity: is ``sum(coef * atom)`` exactly zero?

        sp(-t) (t >= 0 distinct) and sigmoid(-t) (t > 0 distinct) are linearly independent over
        the rationals together with 1 (Lindemann-Weierstrass: e^(1/D) is transcendental, so an
        identity in it must hold as rational functions, whose poles at the primitive 2T-th roots
        of unity for the largest T separate the terms). Logs of rationals vanish together iff the
        exponents over a coprime base of the integers involved all vanish.
        """
        kinds = {k for k, _ in self.terms}
        if not self.terms:
            return True
        if kinds <= {"sp"} or kinds <= {"sigmoid"}:
            return False  # folded: merged coefficients are non-zero by construction
        if kinds == {"log"}:
            return not _log_exponents(self.terms)
        raise AssertionError(f"mixed atom kinds {kinds}")


def _coprime_base(numbers: list[int]) -> list[int]:
    """Pairwise coprime integers > 1 whose products give every number in ``numbers``."""
    base: list[int] = []
    pending = [n for n in numbers if n > 1]
    while pending:
        m = pending.pop()
        if m == 1:
            continue
        for i, b in enumerate(base):
            g = math.gcd(m, b)
            if g > 1:
                del base[i]
                pending.extend(v for v in (g, b // g, m // g) if v > 1)
                break
        else:
            base.append(m)
    return base


def _log_exponents(terms: dict) -> dict[int, Fraction]:
    """Non-zero coefficients of ``sum c log a`` over a coprime base of the numerators and
    denominators of the ``a``."""
    ints = []
    for (_, a), _c in terms.items():
        ints += [a.numerator, a.denominator]
    base = _coprime_base(ints)
    out: dict[int, Fraction] = {}
    for (_, a), c in terms.items():
        for n, sign in ((a.numerator, 1), (a.denominator, -1)):
            for b in base:
                while n % b == 0:
                    n //= b
                    out[b] = out.get(b, 0) + sign * c
            if n != 1:
                raise AssertionError("coprime base does not factor an argument")
    return {b: c for b, c in out.items() if c}


# ---------------------------------------------------------------------------------------------
# Certified rounding
# ---------------------------------------------------------------------------------------------


class ReferenceUncertified(ArithmeticError):
    """The reference could not decide a rounding within its precision cap."""


class ReferenceInconsistent(AssertionError):
    """The reference's algebra and its balls disagree (a bug in this module)."""


LITERAL_PREC_CAP = 2304
FOLDED_PREC_CAP = 1 << 15


def round_quantity(q: Quantity, fmt: TargetFormat) -> tuple[float, str]:
    """(rounded value, how it was certified: 'exact' | 'literal' | 'algebra' | 'folded')."""
    if not q.terms:
        return round_fraction(q.const, fmt), "exact"
    f = None
    prec = fmt.precision + 32
    while prec <= LITERAL_PREC_CAP:
        r = round_ball(q.ball(prec), fmt)
        if r is not None:
            return r, "literal"
        if f is None:  # after the first miss: is the value an exact rational (on a boundary)?
            f = q.folded()
            if f.transcendental_part_vanishes():
                if not ball_contains(q.ball(4 * prec), f.const):
                    raise ReferenceInconsistent(f"exact value {f.const} outside the literal ball")
                return round_fraction(f.const, fmt), "algebra"
        prec *= 2
    prec = fmt.precision + 32
    while prec <= FOLDED_PREC_CAP:
        r = round_const_plus_ball(f.const, f.ball(prec, STABLE_ATOMS, with_const=False), fmt)
        if r is not None:
            return r, "folded"
        prec *= 2
    raise ReferenceUncertified(f"no rounding of {q.const} + {q.terms} into {fmt.name}")


# ---------------------------------------------------------------------------------------------
# The element formulas
# ---------------------------------------------------------------------------------------------

CLAMP = Fraction(-100)


def log_is_clamped(a: Fraction) -> bool:
    """Whether ``max(log a, -100)`` is -100 (log a < -100), decided with Arb balls."""
    if a == 0:
        return True
    prec = 64
    while prec <= 1 << 14:
        with _Prec(prec):
            d = arb_of(a).log() + 100
        if d < 0:
            return True
        if d > 0:
            return False
        prec *= 2
    raise ReferenceUncertified(f"log({a}) against -100")  # e^-100 is irrational: unreachable


def _clamped_log(a: Fraction) -> tuple[Quantity, bool]:
    if log_is_clamped(a):
        return Quantity(CLAMP), True
    return Quantity(0, {("log", a): 1}), False


def bce_quantities(x: Fraction, y: Fraction, w: Fraction) -> dict[str, Quantity]:
    """binary_cross_entropy: 'value', 'input', 'target', 'weight' of one element."""
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise ValueError("binary_cross_entropy needs x and y in [0, 1]")
    lx, cx = _clamped_log(x)
    l1x, c1x = _clamped_log(1 - x)
    bracket = lx.scale(y) + l1x.scale(1 - y)
    d1 = 0 if cx else 1 / x
    d2 = 0 if c1x else 1 / (1 - x)
    return {
        "value": bracket.scale(-w),
        "input": Quantity(-w * (y * d1 - (1 - y) * d2)),
        "target": (lx + l1x.scale(-1)).scale(-w),
        "weight": bracket.scale(-1),
    }


def logits_quantities(x: Fraction, y: Fraction, w: Fraction, p: Fraction) -> dict[str, Quantity]:
    """binary_cross_entropy_with_logits: 'value', 'input', 'target', 'weight', 'pos_weight'."""
    sp_neg = Quantity(0, {("sp", -x): 1})  # log1p(exp(-x))
    sp_pos = Quantity(0, {("sp", x): 1})  # log1p(exp(x))
    bracket = sp_neg.scale(p * y) + sp_pos.scale(1 - y)
    return {
        "value": bracket.scale(w),
        "input": Quantity(-w * p * y, {("sigmoid", x): w * (1 - y + p * y)}),
        "target": (sp_neg.scale(p) + sp_pos.scale(-1)).scale(w),
        "weight": bracket,
        "pos_weight": sp_neg.scale(w * y),
    }


def reduce_quantities(values: list[Quantity], reduction: str) -> Quantity:
    total = Quantity(0)
    for v in values:
        total = total + v
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total.scale(Fraction(1, len(values)))
    raise ValueError(reduction)
