"""A model of the jax backend: ``optax.sigmoid_binary_cross_entropy(x, y)`` under ``jax.jit`` on
the CPU, ``jnp.mean``/``jnp.sum`` of it, and its pullback (``jax.vjp``) with the upstream
gradient as cotangent, as XLA compiles it (jax 0.10.2, optax 0.2.8, the report's versions).

The computation, read from optax/losses/_classification.py, jax/_src/nn/functions.py and
jax/_src/lax/other.py, and from the optimized HLO (``jax.jit(f).lower(...).compile().as_text()``):

* labels are cast to the logits' dtype d (``jnp.astype(labels, logits.dtype)``); everything
  below runs in d and the target gradient is cast back to the labels' dtype;
* ``L = log1p(exp(-|x|))`` (``logaddexp(+-x, 0)``; the same L serves both signs),
  ``sp_pos = max(x, 0) + L`` and ``sp_neg = max(-x, 0) + L`` (softplus(x), softplus(-x); a NaN x
  passes through), ``log_sigmoid(x) = -sp_neg``, ``log_sigmoid(-x) = -sp_pos``;
* the loss element ``y*sp_neg - (1 - y)*(-sp_pos)``;
* the target gradient ``c*sp_neg - c*sp_pos`` (c the cotangent reaching the element): a
  difference of two rounded softplus values, which is -c*x in real arithmetic;
* the input gradient from logaddexp's custom JVP: ``sigma(x) = exp(x - sp_pos)`` and
  ``sigma(-x) = exp(-x - sp_neg)`` (an infinite operand of the subtraction replaced by 0,
  ``_replace_inf``), and ``(c*(1 - y))*sigma(x) - (y*c)*sigma(-x)``;
* ``jnp.mean`` multiplies the sum by 1/N rounded (not a division); its pullback multiplies the
  upstream gradient by the same constant. For float16/bfloat16 the sum, the 1/N product and
  the mean's cotangent are float32 (jnp's reductions upcast), rounded into d once.

The arithmetic, as measured against jax 0.10.2 itself (random logits and labels in all four
dtypes, elementwise and one- to three-element reductions: every output the model predicts was
reproduced, every other one was among its allowed outputs):

* float32/float64: each operation rounds into d, except that XLA's CPU backend lets LLVM fuse a
  product into the following subtraction (``AllowFPOpFusion = Fast``): the three differences
  above are ``fma(a, b, -(c*d))``, the first product exact (FMA);
* bfloat16: XLA keeps every float32 <-> bfloat16 convert pair in the fused kernels, so each
  operation is done in float32 and rounded into bfloat16 (ml_dtypes' arithmetic), no FMA;
  float16 has float16 HLO that LLVM promotes per operation to float32 and rounds back: the same;
* denormals are flushed (the CPU client runs XLA with FTZ/DAZ): a float32/float64/bfloat16
  subnormal result is 0 (exp(x) for x < -87.33 in float32 is 0), a subnormal input reads as 0;
* exp and log1p are XLA's own polynomials, not correctly rounded. They are *bounded*: exp within
  EXP_ULPS and log1p within LOG1P_ULPS ulp of the exact value (measured on 12,000 or more
  arguments each: float32 exp at most 0.92 ulp, log1p 2.34 ulp; float64 exp 1.27 ulp, log1p 1.88 ulp);
  for float16/bfloat16 they are float32 functions (within those bounds) rounded into d.
* the reductions sum in an order the model does not know: it tries several (outcomes.summation_orders).

The model evaluates every allowed combination of the elementary functions' values (and of the
summation orders) and returns an output only where all of them give the same bits, else None;
``xla_outcomes`` returns the whole set (an Outcomes) for a repaired formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from mpmath import mp

from conformance.backends.protocol import promoted_dtype
from conformance.findings import outcomes
from conformance.findings.arithmetic import Scalar, opmath, same_bits, to
from conformance.findings.elements import Element, Gathered
from conformance.findings.outcomes import Outcomes, outcomes_of, summation_orders

SOURCES = {
    "loss": (
        "optax/losses/_classification.py (sigmoid_binary_cross_entropy: labels cast to the "
        "logits' dtype, -labels*log_sigmoid(x) - (1 - labels)*log_sigmoid(-x))"
    ),
    "softplus": (
        "jax/_src/nn/functions.py (log_sigmoid = -softplus(-x), softplus = logaddexp(x, 0)); "
        "jax/_src/lax/other.py (logaddexp: max + log1p(exp(-|delta|)), its custom JVP "
        "exp(x - logaddexp) with _replace_inf)"
    ),
    "reduce": "jax/_src/numpy/reductions.py (mean: sum times 1/N; float16/bfloat16 upcast)",
    "xla": (
        "xla/service/cpu (LLVM with FP-op fusion: fma; elemental exp/log1p polynomials); "
        "xla/pjrt/cpu (denormals flushed while running)"
    ),
}

EXP_ULPS = {"float32": 1.0, "float64": 1.5}  # XLA's exp against the exact value
LOG1P_ULPS = {"float32": 2.5, "float64": 2.0}  # XLA's log1p against the exact value
FLUSHED = ("float32", "float64", "bfloat16")  # formats whose subnormals FTZ/DAZ flush
MAX_COMBINATIONS = 4096
_TINY = {"float32": 2.0**-126, "bfloat16": 2.0**-126, "float64": 2.0**-1022}

Elementary = Callable[[Scalar], list[Scalar]]  # argument (wide dtype) -> allowed values


def _flush(v: Scalar, ftz: bool) -> Scalar:
    """A subnormal of a flushed format read or written as a zero of its sign."""
    name = v.dtype.name
    if ftz and name in FLUSHED and v != 0 and np.isfinite(v):
        if abs(float(v)) < _TINY[name]:
            return to(-0.0 if np.signbit(v) else 0.0, name)
    return v


def _bounded(fn: str, v: Scalar, ulps: float) -> list[Scalar]:
    """Every float of v's dtype strictly within ``ulps`` ulp of fn(v) (the ulp of the correctly
    rounded value's binade); an exact special value alone."""
    return outcomes.bounded(fn, v, ulps, inclusive=False)


def xla_exp(v: Scalar) -> list[Scalar]:
    return _bounded("exp", v, EXP_ULPS[v.dtype.name])


def xla_log1p(v: Scalar) -> list[Scalar]:
    return _bounded("log1p", v, LOG1P_ULPS[v.dtype.name])


@dataclass(frozen=True)
class Variant:
    """Which computation the model runs: XLA's (the defaults) or a repaired one."""

    exp: Elementary = xla_exp
    log1p: Elementary = xla_log1p
    ftz: bool = True  # denormals flushed
    fma: str = "first"  # float32/float64 differences: "first" or "second" product fused, "none"
    excess: bool = False  # float16/bfloat16 intermediates kept in float32 (not rounded into d)
    zero_times_inf: float = np.nan  # 0 * inf in the loss (0.0: the term of a zero label vanishes)
    nan_label_propagates: bool = False  # the target gradient reads a NaN label


XLA = Variant()


class _Ar:
    """Arithmetic in dtype d as XLA's CPU kernels do it."""

    def __init__(self, dtype: str, variant: Variant) -> None:
        self.w, self.v = opmath(dtype), variant
        self.d = self.w if variant.excess else dtype  # the format results are rounded into

    def r(self, value: Scalar) -> Scalar:
        """A wide result rounded into d (flushed in the wide format, then in d)."""
        return _flush(to(_flush(value, self.v.ftz), self.d), self.v.ftz)

    def read(self, value: Scalar, dtype: str | None = None) -> Scalar:
        """An argument (cast into ``dtype``, default d), as DAZ reads it."""
        return _flush(to(value, dtype or self.d), self.v.ftz)

    def wide(self, a: Scalar) -> Scalar:
        return to(a, self.w)

    def op(self, f: Callable[[Scalar, Scalar], Scalar], a: Scalar, b: Scalar) -> Scalar:
        with np.errstate(all="ignore"):
            return self.r(f(self.wide(a), self.wide(b)))

    def add(self, a, b):
        return self.op(lambda u, v: u + v, a, b)

    def sub(self, a, b):
        return self.op(lambda u, v: u - v, a, b)

    def mul(self, a, b):
        if self._zero_inf(a, b):
            return to(self.v.zero_times_inf, self.d)
        return self.op(lambda u, v: u * v, a, b)

    @staticmethod
    def _zero_inf(a, b) -> bool:
        return bool((a == 0 and np.isinf(b)) or (b == 0 and np.isinf(a)))

    def mul_sub(self, a, b, c, e) -> Scalar:
        """a*b - c*e: fma(a, b, -(c*e)) in float32/float64 (the first product exact; the second
        with ``fma="second"``), else two rounded products."""
        fused = self.v.fma if self.w == self.d and self.d in ("float32", "float64") else "none"
        if fused == "second":
            return -self._fms(c, e, a, b)
        if fused == "none":
            return self.sub(self.mul(a, b), self.mul(c, e))
        return self._fms(a, b, c, e)

    def _fms(self, a, b, c, e) -> Scalar:
        """fma(a, b, -round(c*e))."""
        ce = self.mul(c, e)
        if self._zero_inf(a, b):
            return self.sub(self.mul(a, b), ce)
        values = (float(a), float(b), float(ce))
        if not all(np.isfinite(values)):
            with np.errstate(all="ignore"):
                return self.r(a * b - ce)
        with mp.workprec(2200):
            return self.r(to(mp.mpf(values[0]) * mp.mpf(values[1]) - mp.mpf(values[2]), self.d))

    def elementary(self, f: Elementary, a: Scalar) -> list[Scalar]:
        """f(a) computed in the wide format (within its bound), rounded into d."""
        out = []
        for value in f(self.wide(a)):
            r = self.r(value)
            if not any(same_bits(r, o) for o in out):
                out.append(r)
        return out


def _softplus_terms(ar: _Ar, x: Scalar) -> list[tuple[Scalar, Scalar]]:
    """Every allowed (sp_pos, sp_neg) = (softplus(x), softplus(-x))."""
    zero = to(0.0, ar.d)
    out = []
    for e in ar.elementary(ar.v.exp, -abs(x)):
        for big_l in ar.elementary(ar.v.log1p, e):
            pair = []
            for s in (x, -x):
                pair.append(s if s != s else ar.add(s if s > zero else zero, big_l))
            out.append((pair[0], pair[1]))
    return out


def element_values(ar: _Ar, e: Element, quantity: str, c: Scalar) -> list[Scalar]:
    """Every value one element may give for ``quantity`` (c the element's cotangent), in d."""
    x = ar.read(e.x)
    y = ar.read(e.y)  # optax: labels cast to the logits' dtype
    one = to(1.0, ar.d)
    one_y = ar.sub(one, y)
    out: list[Scalar] = []
    for sp_pos, sp_neg in _softplus_terms(ar, x):
        if quantity == "value":
            out.append(ar.mul_sub(y, sp_neg, one_y, -sp_pos))
        elif quantity == "grad_target":
            g = ar.mul_sub(c, sp_neg, c, sp_pos)
            if ar.v.nan_label_propagates and y != y:
                g = to(np.nan, ar.d)
            out.append(g)
        else:
            a = ar.mul(c, one_y)
            b = ar.mul(y, c)

            def repl(v: Scalar) -> Scalar:
                return to(0.0, ar.d) if v == np.inf else v

            t_pos = ar.sub(repl(x), repl(sp_pos))
            t_neg = ar.sub(repl(-x), repl(sp_neg))
            for s_pos in ar.elementary(ar.v.exp, t_pos):
                for s_neg in ar.elementary(ar.v.exp, t_neg):
                    out.append(ar.mul_sub(a, s_pos, b, s_neg))
        if len(out) > MAX_COMBINATIONS:
            break
    return out


def _decl(g: Gathered) -> str:
    return g.argument_dtype("input")


def _cotangent(ar: _Ar, g: Gathered, e: Element) -> Scalar:
    go = e.go if e.go is not None else to(1.0, ar.d)
    if g.reduction != "mean":
        return ar.read(go)
    w = ar.w
    with np.errstate(all="ignore"):
        inv = to(1.0, w) / to(g.numel, w)
        return ar.r(to(ar.read(go), w) * inv)


def _unique(values: list[Scalar]) -> list[Scalar]:
    out: list[Scalar] = []
    for v in values:
        if not any(same_bits(v, o) for o in out):
            out.append(v)
    return out


def _reduced(ar: _Ar, g: Gathered, lows: list[Scalar], highs: list[Scalar]) -> list[Scalar]:
    """The sum (or mean) of the elements in each order, accumulated in the wide format."""
    w = ar.w
    out = []
    for values in (lows, highs):
        for total in summation_orders([to(v, w) for v in values], to(0.0, w)):
            with np.errstate(all="ignore"):
                total = _flush(total, ar.v.ftz)
                if g.reduction == "mean":
                    total = total * (to(1.0, w) / to(g.numel, w))
            out.append(ar.r(total))
    return out


def _fused_reduction_variants(decl: str, variant: Variant) -> list[Variant]:
    """The arithmetic a reduce fusion may give one element: its loss is fused into the sum, where
    LLVM contracts either product (or none) and float16/bfloat16 may stay in float32."""
    if decl in ("float32", "float64"):
        return [replace(variant, fma=f) for f in ("first", "second", "none")]
    return [variant, replace(variant, excess=True)]


def _value_outcomes(g: Gathered, variant: Variant, decl: str) -> Outcomes | None:
    one = to(1.0, decl)
    if g.reduction == "none":
        ar = _Ar(decl, variant)
        return outcomes_of(
            _unique([to(v, decl) for v in element_values(ar, g.single, "value", one)]), decl
        )
    arithmetics = [_Ar(decl, v) for v in _fused_reduction_variants(decl, variant)]
    per = [
        [to(v, ar.w) for ar in arithmetics for v in element_values(ar, e, "value", one)]
        for e in g.elements
    ]
    if any(values and all(v != v for v in values) for values in per):
        return outcomes_of([to(np.nan, decl)], decl)  # NaN in any order and arithmetic
    if len(per) != 1:  # the fused sum's order and contraction are not modelled: some number
        wide = to(np.inf, decl)
        return Outcomes(-wide, wide, False, decl)
    values = per[0]
    numbers = [v for v in values if v == v]
    ar = arithmetics[0]
    out = _reduced(ar, g, [min(numbers, key=float)], [max(numbers, key=float)]) if numbers else []
    if len(numbers) < len(values):
        out.append(to(np.nan, decl))
    return outcomes_of(out, decl)


def xla_outcomes(g: Gathered, variant: Variant = XLA) -> Outcomes | None:
    """Every output the jitted computation may give (each exp and log1p within its bound, each
    summation order), in the quantity's dtype; None where the model does not apply."""
    if g.function != "binary_cross_entropy_with_logits" or not g.elements:
        return None
    if any(e.w is not None or e.p is not None for e in g.elements):
        return None
    decl = _decl(g)
    if g.quantity == "value":
        return _value_outcomes(g, variant, decl)
    ar = _Ar(decl, variant)
    if g.quantity not in ("grad_input", "grad_target") or len(g.elements) != 1:
        return None
    e = g.single
    values = element_values(ar, e, g.quantity, _cotangent(ar, g, e))
    if g.quantity == "grad_target":  # the convert's pullback: into the labels' dtype
        out = g.argument_dtype("target")
        return outcomes_of([to(v, out) for v in values], out)
    return outcomes_of(values, decl)


def xla_value(g: Gathered, variant: Variant = XLA) -> Scalar | None:
    """The output as XLA computes it, or None where the elementary functions' last bits (or
    the summation order) decide it."""
    outcomes = xla_outcomes(g, variant)
    return None if outcomes is None else outcomes.single()


def exact_elementary(fn: str) -> Elementary:
    """fn correctly rounded (a repaired kernel)."""

    def f(v: Scalar) -> list[Scalar]:
        return _bounded(fn, v, 0.5)[:1]

    return f


def labels_rounded(g: Gathered) -> bool:
    """Some label changes when rounded into the logits' dtype."""
    decl = _decl(g)
    return any(
        e.y == e.y and not same_bits(to(to(e.y, decl), e.y.dtype.name), e.y) for e in g.elements
    )


def exact_target_gradient(g: Gathered) -> Scalar | None:
    """The target gradient log_sigmoid(-x) - log_sigmoid(x) = -x times the cotangent, rounded
    once (into the labels' dtype), the labels cast as optax casts them."""
    decl = _decl(g)
    ar = _Ar(decl, XLA)
    e = g.single
    x, c = float(ar.read(e.x)), float(_cotangent(ar, g, e))
    with mp.workprec(320):
        return to(-mp.mpf(x) * mp.mpf(c), g.argument_dtype("target"))


def exact_input_gradient(g: Gathered) -> Scalar | None:
    """c*((1 - y)*sigma(x) - y*sigma(-x)) = c*(sigma(x) - y) at 320 bits, rounded once, the labels
    cast as optax casts them."""
    decl = _decl(g)
    ar = _Ar(decl, XLA)
    e = g.single
    x, y, c = (float(v) for v in (ar.read(e.x), ar.read(e.y), _cotangent(ar, g, e)))
    if not all(np.isfinite((x, y, c))):
        return None
    with mp.workprec(320):
        sigma = 1 / (1 + mp.exp(-mp.mpf(x)))
        return to(mp.mpf(c) * ((1 - mp.mpf(y)) * sigma - mp.mpf(y) * (1 - sigma)), decl)


def in_promoted_dtype(g: Gathered) -> Outcomes | None:
    """Every output of the same computation run in the promoted dtype of logits and labels (the
    labels not rounded), rounded into the logits' dtype (the target gradient into the labels')."""
    decl = _decl(g)
    wide = promoted_dtype({decl, g.argument_dtype("target")})
    elements = tuple(
        replace(e, x=to(e.x, wide), go=None if e.go is None else to(e.go, wide)) for e in g.elements
    )
    types = tuple(sorted({**dict(g.argument_dtypes), "input": wide}.items()))
    outcomes = xla_outcomes(replace(g, elements=elements, argument_dtypes=types))
    if outcomes is None or outcomes.low is None:
        return outcomes
    out = g.argument_dtype("target") if g.quantity == "grad_target" else decl
    low, high = to(outcomes.low, out), to(outcomes.high, out)
    return Outcomes(low, high, outcomes.nan, out)
