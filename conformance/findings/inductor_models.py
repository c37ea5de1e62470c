"""A model of the torch-compile backend: ``torch.compile(..., backend="inductor", dynamic=True)``
of ``binary_cross_entropy_with_logits`` and ``binary_cross_entropy`` on the CPU, forward and
backward (torch 2.13.0, the report's version), read from the C++ that Inductor generates
(``TORCH_LOGS=output_code``).

The computation (SOURCES):

* forward: AOTAutograd decomposes the loss with torch/_refs/nn/functional/__init__.py
  (binary_cross_entropy_with_logits), out of place, each operation in the promoted dtype of its
  operands, then ``loss.to(target.dtype)``::

      ls   = min(0, x) - log1p(exp(-|x|))                  (log_sigmoid, x's dtype)
      loss = (1 - y)*x - lw*ls,   lw = (p - 1)*y + 1     (without pos_weight: - ls)
      loss = loss*w                                         (with a weight)

  Unlike eager torch (which writes ``log_sigmoid.mul_(lw)`` in place) nothing is rounded into a
  narrower argument's dtype on the way; the last cast is into the target's dtype.
* backward: autograd's own formulas (torch/csrc/autograd/FunctionsManual.cpp,
  binary_cross_entropy_with_logits_backward and _target_backward) traced into ATen ops and fused
  into one kernel: ``sigmoid(x) - y`` (with pos_weight ``((p*y + 1) - y)*sigmoid(x) - p*y``),
  sigmoid as ``1/(1 + exp(-x))``; the target gradient ``-x`` (with pos_weight
  ``log_sigmoid(-x) - log_sigmoid(x)*p``); then times the upstream gradient, times the weight,
  and for a mean divided by ``float(N)`` (in that order, as in the generated kernel and as in
  eager torch), in the argument's dtype.
* the C++ is built with ``-ffp-contract=off`` (no fused multiply-add) and without
  ``-ffast-math``'s finite-math or unsafe-math flags (torch/_inductor/cpp_builder.py), so each
  operation rounds into its dtype and infinities and NaNs follow IEEE arithmetic.
* reductions (sum, mean): one pass over the elements in C order into a 16-lane accumulator
  (``at::vec::Vectorized<float>`` on AVX-512: element i goes to lane i mod 16, the tail through
  ``sum_masked_reduce`` into the low lanes), then ``vec_reduce_all`` adds the lanes pairwise
  (lane i + lane i + 8, then + 4, + 2, + 1: aten/src/ATen/cpu/vec/functional_base.h,
  VecReduceAllSIMD for AVX-512), added to 0; a mean is that sum divided by ``float(N)``; the
  mean over no elements is 0/0 = NaN.
* exp and log1p are at::vec's Sleef functions (Sleef_expf16_u10, Sleef_log1pf16_u10 and their
  float64 versions), also in a one-element tail (a masked vector load), where eager torch calls
  the C library. They are *bounded*, not reproduced: measured through torch.compile against
  mpmath (200 bits), float32 exp within 0.90 ulp (580 of 6,000 arguments in [-103, 88] not
  correctly rounded) and log1p within 1.00 ulp (185 of 6,000 in (-0.99, 30] and down to
  e^-100); float64 exp within 0.76 ulp and log1p within 0.69 ulp (5,000 arguments each). The
  model allows EXP_ULPS and LOG1P_ULPS.

Because the elementary functions are bounded, the model evaluates every combination of their
allowed values and returns an output only where all give the same bits (``inductor_value``),
else None; ``inductor_outcomes`` returns the whole set (an Outcomes) for a repaired variant.
A reduction's outputs lie between the reduction of the elements' smallest values and that of
their largest (a rounded sum in a fixed order is monotonic in each term).

float16 and bfloat16 with-logits cases (every argument of the one dtype; a case mixing a reduced
type is not modelled: None), from the kernel generated for float16 (mean, weight and
pos_weight): each argument is converted to float32 on load and the whole computation above runs
in float32 (the reduction's accumulator and its division by float(N) too), rounded into the
reduced type once at the store; but the backward's mean divisor is the count converted to the
reduced type first (``c10::convert<at::Half>(ks0)``, the backward formula's ``div_(numel)`` on
a float16 tensor), so a float16 mean over more than 65504 elements divides by inf.

binary_cross_entropy (``bce_outcomes``; all four dtypes), from the kernels generated for
float32, float16 and bfloat16 (none and mean reductions, with a weight):

* forward: torch/_decomp/decompositions.py (binary_cross_entropy, under pw_cast_for_opmath:
  every argument converted to the compute dtype, float32 for float16 and bfloat16, the result
  rounded once into the promoted dtype)::

      loss = ((y - 1)*maximum(log1p(-x), -100) - y*maximum(log(x), -100))*w

  ``at::vec::maximum`` propagates NaN; log(0) = -inf meets the -100 floor. The input range check
  of eager torch is commented out in the decomposition (data-dependent control flow), so an
  input outside [0, 1] gives NaN rather than an error; the target is never checked. The sum and
  mean are the 16-lane reduction above, in the compute dtype, then rounded into the result's.
* grad_input: the decomposition of binary_cross_entropy_backward (pw_cast_for_opmath):
  ``go*(x - y) / maximum(x*(1 - x), 1e-12)``, times w, / float(N) for a mean, all in the
  compute dtype (the constant 1e-12 in float32 for float16 and bfloat16, so 1e-12 is not
  flushed as eager float16 flushes it; a quotient of 1e12 then overflows float16 at the store).
* grad_target: autograd's binary_cross_entropy_target_backward, ``-logit(x)`` (the logit
  reference with eps -1: x clamped to [-1, 2], then ``log(x/(1 - x))``), ``.mul_(grad)``,
  ``.mul_(weight)``, ``.div_(numel)`` in x's dtype, fused into the same kernel: computed in
  float32 for float16 and bfloat16 without rounding between the steps, except that the count
  is converted to x's dtype first (``c10::convert<at::BFloat16>(ks0)``: in float16 a count
  beyond 65504 is inf) and an operand of a wider dtype rounds the in-place result back into
  x's dtype (functionalization's copy back; read from the graph, not from a generated kernel,
  and no recorded output in the audit decides it).
* log is Sleef_logf16_u10 (and the float64 version), *bounded*: measured through torch.compile
  against mpmath (200 bits), float32 within 0.59 ulp (31 of 6,000 positive arguments from the
  smallest subnormal to 3.1e38, a quarter of them in [0.5, 1.5], not correctly rounded) and
  float64 within 0.67 ulp (66 of 5,000 from 5e-324 to 1.8e308); the model allows LOG_ULPS (1
  ulp, Sleef's stated bound for u10).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from mpmath import mp

from conformance.backends.protocol import promoted_dtype
from conformance.findings import outcomes
from conformance.findings.arithmetic import REDUCED, Scalar, opmath, to
from conformance.findings.elements import Element, Gathered
from conformance.findings.outcomes import Outcomes, outcomes_of

SOURCES = {
    "loss": (
        "torch/_refs/nn/functional/__init__.py (binary_cross_entropy_with_logits: "
        "(1 - target)*input - log_weight*logsigmoid(input), times weight, .to(target.dtype)); "
        "torch/_decomp/decompositions.py (log_sigmoid: min(0, x) - log1p(exp(-|x|)))"
    ),
    "backward": (
        "torch/csrc/autograd/FunctionsManual.cpp (binary_cross_entropy_with_logits_backward, "
        "binary_cross_entropy_with_logits_target_backward), traced by AOTAutograd"
    ),
    "codegen": (
        "torch/_inductor/codegen/cpp.py (one fused vectorized kernel), "
        "torch/_inductor/cpp_builder.py (-ffp-contract=off), "
        "aten/src/ATen/cpu/vec/vec512/vec512_float.h (exp: Sleef_expf16_u10, "
        "log1p: Sleef_log1pf16_u10)"
    ),
    "bce_loss": (
        "torch/_decomp/decompositions.py (binary_cross_entropy, pw_cast_for_opmath: "
        "(target - 1)*maximum(log1p(-input), -100) - target*maximum(log(input), -100), times "
        "weight, the input range check commented out)"
    ),
    "bce_backward": (
        "torch/_decomp/decompositions.py (binary_cross_entropy_backward, pw_cast_for_opmath: "
        "grad_output*(input - target)/clamp(input*(1 - input), min=1e-12), times weight, "
        "/ numel for a mean)"
    ),
    "bce_target": (
        "torch/csrc/autograd/FunctionsManual.cpp (binary_cross_entropy_target_backward: "
        "-logit(input) times grad, weight, / numel); torch/_refs/__init__.py (logit: eps -1, "
        "clamp(x, -1, 2), log(x/(1 - x)))"
    ),
    "reduce": (
        "torch/_inductor/codegen/cpp.py (16-lane tmp_acc0_vec, sum_masked_reduce tail); "
        "aten/src/ATen/cpu/vec/functional_base.h (vec_reduce_all: lanes added pairwise); "
        "mean: sum / float(N)"
    ),
}

EXP_ULPS = {"float32": 1.0, "float64": 1.0}  # Sleef exp u10 against the exact value
LOG1P_ULPS = {"float32": 1.5, "float64": 1.0}  # Sleef log1p u10 against the exact value
LOG_ULPS = {"float32": 1.0, "float64": 1.0}  # Sleef log u10 against the exact value
LANES = 16  # the reduction's vector accumulator (AVX-512 float32)
MAX_COMBINATIONS = 4096
MODELLED = ("float32", "float64")  # binary_cross_entropy_with_logits
BCE_MODELLED = ("float16", "bfloat16", "float32", "float64")  # binary_cross_entropy
BCE = "binary_cross_entropy"
LOGITS = "binary_cross_entropy_with_logits"
EPSILON = 1e-12  # binary_cross_entropy_backward's decomposition: clamp(x*(1 - x), min=1e-12)
LOG_FLOOR = -100.0  # the decomposition's clamp of each log: maximum(log, -100)

Elementary = Callable[[Scalar], list[Scalar]]


def bounded(fn: str, v: Scalar, ulps: float) -> list[Scalar]:
    """Every float of v's dtype within ``ulps`` ulp (of the correctly rounded value's binade)
    of fn(v) (exp, log or log1p), the bound included; an exact special value alone."""
    return outcomes.bounded(fn, v, ulps, inclusive=True)


def sleef_exp(v: Scalar) -> list[Scalar]:
    return bounded("exp", v, EXP_ULPS[v.dtype.name])


def sleef_log1p(v: Scalar) -> list[Scalar]:
    return bounded("log1p", v, LOG1P_ULPS[v.dtype.name])


def sleef_log(v: Scalar) -> list[Scalar]:
    return bounded("log", v, LOG_ULPS[v.dtype.name])


def exact_elementary(fn: str) -> Elementary:
    """fn correctly rounded (a repaired kernel, or a correctly rounded libm)."""

    def f(v: Scalar) -> list[Scalar]:
        return bounded(fn, v, 0.5)[:1]

    return f


@dataclass(frozen=True)
class Variant:
    """Which computation the model runs: Inductor's (the defaults) or a repaired one."""

    exp: Elementary = sleef_exp
    log1p: Elementary = sleef_log1p
    loss: str = "inductor"  # "accurate": -x*y*p + lw*log1p(e^x) for x < 0 (no cancellation)
    grad_input: str = "inductor"  # "wide": 320-bit derivative; "no_overflow": e^x/(1 + e^x)
    grad_target: str = "inductor"  # "wide": -x + (p - 1)*softplus(-x) at 320 bits
    nan_target_read: bool = False  # the target gradient NaN where the target is NaN
    log: Elementary = sleef_log
    bce_grad_input: str = "inductor"  # "clamped": the derivative of the clamped loss
    bce_grad_target: str = "inductor"  # "clamped": max(log1p(-x), -100) - max(log x, -100)
    count: str = "inductor"  # "float32": a gradient's mean divisor float(N), never float16(N)


INDUCTOR = Variant()


def _one(v: Scalar) -> Scalar:
    return np.asarray(1, dtype=v.dtype)[()]


def _zero(v: Scalar) -> Scalar:
    return np.asarray(0, dtype=v.dtype)[()]


def _min0(x: Scalar) -> Scalar:
    """``at::vec::minimum(0, x)``: NaN propagates."""
    if x != x:
        return x
    return x if x < 0 else _zero(x)


def log_sigmoid_values(x: Scalar, variant: Variant) -> list[Scalar]:
    """Every allowed ``min(0, x) - log1p(exp(-|x|))`` in x's dtype."""
    out = []
    with np.errstate(all="ignore"):
        for e in variant.exp(-abs(x)):
            for big_l in variant.log1p(e):
                out.append(_min0(x) - big_l)
    return out


def sigmoid_values(x: Scalar, variant: Variant) -> list[Scalar]:
    """Every allowed ``1/(1 + exp(-x))`` in x's dtype (or e^x/(1 + e^x) for x < 0 with the
    no_overflow repair)."""
    out = []
    with np.errstate(all="ignore"):
        if variant.grad_input == "no_overflow" and x < 0:
            for e in variant.exp(x):
                out.append(e / (_one(e) + e))
            return out
        for e in variant.exp(-x):
            out.append(_one(x) / (_one(x) + e))
    return out


def _in_place(target: Scalar, value: Scalar) -> Scalar:
    """``target.op_(other)`` (functionalized: the result cast back into target's dtype)."""
    return to(value, target.dtype.name)


def _loss_values(e: Element, variant: Variant) -> list[Scalar]:
    """Every allowed loss element, in the target's dtype."""
    x, y, p, w = e.x, e.y, e.p, e.w
    out = []
    with np.errstate(all="ignore"):
        lw = None if p is None else (p - _one(p)) * y + _one(p)
        if variant.loss == "accurate":
            lw1 = lw if lw is not None else _one(y)
            yp = y * p if p is not None else y
            z = x if x < 0 else -x
            for ez in variant.exp(z):
                for big_l in variant.log1p(ez):
                    if x < 0:
                        v = (-x) * yp + lw1 * big_l
                    else:
                        v = (_one(y) - y) * x + lw1 * big_l
                    out.append(v)
        else:
            t = (_one(y) - y) * x
            for ls in log_sigmoid_values(x, variant):
                out.append(t - (lw * ls if lw is not None else ls))
        if w is not None:
            out = [v * w for v in out]
    return [to(v, y.dtype.name) for v in out]


def _epilogue(g: Gathered, e: Element, v: Scalar, variant: Variant = INDUCTOR) -> Scalar:
    """Times the upstream gradient, times the weight (each in place), / float(N) for a mean."""
    with np.errstate(all="ignore"):
        if e.go is not None:
            v = _in_place(v, v * e.go)
        if e.w is not None:
            v = _in_place(v, v * e.w)
        if g.reduction == "mean":
            v = v / _count(g, v.dtype.name, variant)
    return v


def _count(g: Gathered, dtype: str, variant: Variant = INDUCTOR) -> Scalar:
    """The backward's mean divisor in ``dtype``: the count converted into the gradient's dtype
    first (``c10::convert<at::Half>(ks0)`` in a float16 kernel: inf beyond 65504)."""
    if g.dtype in REDUCED and variant.count == "inductor":
        return to(to(g.numel, g.dtype), dtype)
    return to(g.numel, dtype)


def _wide_derivative(e: Element) -> Scalar:
    """(1 - y)*sigma(x) - p*y*sigma(-x) at 320 bits, rounded once into the promoted dtype."""
    dtype = promoted_dtype({v.dtype.name for v in (e.x, e.y, e.p) if v is not None})
    with mp.workprec(320):
        x, y = mp.mpf(float(e.x)), mp.mpf(float(e.y))
        p = mp.mpf(1) if e.p is None else mp.mpf(float(e.p))
        value = (1 - y) / (1 + mp.exp(-x)) - p * y / (1 + mp.exp(x))
    return to(value, dtype)


def _wide_target_derivative(e: Element) -> Scalar:
    """-x + (p - 1)*softplus(-x) at 320 bits (exactly -x without pos_weight), rounded once."""
    if e.p is None:
        return -e.x
    dtype = promoted_dtype({e.x.dtype.name, e.p.dtype.name})
    with mp.workprec(320):
        x, p = mp.mpf(float(e.x)), mp.mpf(float(e.p))
        value = -x + (p - 1) * mp.log1p(mp.exp(-x))
    return to(value, dtype)


def _grad_input_values(g: Gathered, e: Element, variant: Variant) -> list[Scalar]:
    if variant.grad_input == "wide":
        raw = [_wide_derivative(e)]
    else:
        raw = []
        with np.errstate(all="ignore"):
            for s in sigmoid_values(e.x, variant):
                if e.p is not None:
                    t = e.p * e.y
                    raw.append(((t + _one(t)) - e.y) * s - t)
                else:
                    raw.append(s - e.y)
    return [to(_epilogue(g, e, v, variant), g.argument_dtype("input")) for v in raw]


def _grad_target_values(g: Gathered, e: Element, variant: Variant) -> list[Scalar]:
    if variant.grad_target == "wide":
        raw = [_wide_target_derivative(e)]
    elif e.p is None:
        raw = [-e.x]
    else:
        raw = []
        with np.errstate(all="ignore"):
            for a in log_sigmoid_values(-e.x, variant):
                for b in log_sigmoid_values(e.x, variant):
                    raw.append(a - b * e.p)
    out = [to(_epilogue(g, e, v, variant), g.argument_dtype("target")) for v in raw]
    if variant.nan_target_read and e.y != e.y:
        out = [to(np.nan, g.argument_dtype("target"))]
    return out


def inductor_sum(values: list[Scalar], zero: Scalar) -> Scalar:
    """The generated reduction: element i into lane i mod 16 in order, the lanes added
    pairwise (i + i + 8, + 4, + 2, + 1), then added to 0."""
    acc = [zero] * LANES
    with np.errstate(all="ignore"):
        for i, v in enumerate(values):
            acc[i % LANES] = acc[i % LANES] + v
        while len(acc) > 1:
            half = len(acc) // 2
            acc = [acc[i] + acc[i + half] for i in range(half)]
        return zero + acc[0]


def _modelled(g: Gathered) -> bool:
    dtypes = {g.dtype, *(d for _, d in g.argument_dtypes)}
    if g.function == BCE:
        return dtypes <= set(BCE_MODELLED)
    if g.function != LOGITS:
        return False
    return dtypes <= set(MODELLED) or (len(dtypes) == 1 and g.dtype in REDUCED)


def _widened(g: Gathered) -> Gathered:
    """A float16 or bfloat16 case as its kernel computes it: every argument converted to float32
    on load (outputs still rounded into the arguments' dtypes, which ``g`` keeps)."""
    if g.dtype not in REDUCED:
        return g

    def wide(v: Scalar | None) -> Scalar | None:
        return None if v is None else to(v, "float32")

    elements = tuple(
        Element(wide(e.x), wide(e.y), wide(e.w), wide(e.p), wide(e.go)) for e in g.elements
    )
    return replace(g, elements=elements)


def _reduced(g: Gathered, values: list[Scalar], dtype: str, out: str | None = None) -> list[Scalar]:
    """The sum or mean of the elements as the kernel forms it in ``dtype`` (then rounded into
    ``out`` where given); a one-element sum is the element (either sign of a zero: whether
    0 + v is folded is not modelled)."""
    totals = _reduced_in(g, values, dtype)
    return totals if out is None else [to(t, out) for t in totals]


def _reduced_in(g: Gathered, values: list[Scalar], dtype: str) -> list[Scalar]:
    zero = to(0.0, dtype)
    if len(values) == 1:
        total = to(values[0], dtype)
        totals = [total, zero + total] if total == 0 else [total]
    else:
        totals = [inductor_sum([to(v, dtype) for v in values], zero)]
    if g.reduction == "mean":
        with np.errstate(all="ignore"):
            totals = [t / to(g.numel, dtype) for t in totals]
    return totals


# ------------------------------------------------------------------ binary_cross_entropy


def _dtypes(*values: Scalar | None) -> set[str]:
    return {v.dtype.name for v in values if v is not None}


def _compute(dtypes: set[str]) -> str:
    """The dtype the kernel computes in: the promoted dtype, float32 for float16 and bfloat16
    (pw_cast_for_opmath, and Inductor's C++ converts every reduced-precision load to float)."""
    return opmath(promoted_dtype(dtypes))


def _maximum(a: Scalar, b: Scalar) -> Scalar:
    """``at::vec::maximum``: NaN propagates."""
    if a != a:
        return a
    return a if a > b else b


def _log_floor_values(fn: Elementary, v: Scalar) -> list[Scalar]:
    """Every allowed ``maximum(fn(v), -100)``."""
    floor = to(LOG_FLOOR, v.dtype.name)
    return [_maximum(r, floor) for r in fn(v)]


def _bce_loss_values(e: Element, c: str, variant: Variant) -> list[Scalar]:
    """Every allowed ``((y - 1)*max(log1p(-x), -100) - y*max(log x, -100))*w`` in ``c``
    (torch/_decomp/decompositions.py, binary_cross_entropy, as generated)."""
    x, y = to(e.x, c), to(e.y, c)
    out = []
    with np.errstate(all="ignore"):
        t = y - _one(y)
        for a in _log_floor_values(variant.log1p, -x):
            for b in _log_floor_values(variant.log, x):
                v = t * a - y * b
                out.append(v * to(e.w, c) if e.w is not None else v)
    return out


def _bce_value(g: Gathered, variant: Variant) -> Outcomes | None:
    """The loss: every element in the compute dtype, reduced there (16 lanes, / float(N)), then
    rounded once into the promoted dtype (the decomposition's result dtype)."""
    dtypes = {g.dtype, *(d for _, d in g.argument_dtypes)}
    out_dtype = promoted_dtype(dtypes)
    c = opmath(out_dtype)
    if not g.elements:
        if g.reduction == "none":
            return None
        return outcomes_of([to(np.nan if g.reduction == "mean" else 0.0, out_dtype)], out_dtype)
    per = [_bce_loss_values(e, c, variant) for e in g.elements]
    if g.reduction == "none":
        return outcomes_of([to(v, out_dtype) for v in per[0]], out_dtype)
    return _reduced_outcomes(g, per, c, out_dtype)


def _reduced_outcomes(g: Gathered, per: list[list[Scalar]], c: str, out: str) -> Outcomes:
    """The reduction of the elements' allowed values: between the reduction of their smallest
    and that of their largest, NaN if some element may be NaN."""
    lows, highs, nan = [], [], False
    for values in per:
        numbers = [v for v in values if v == v]
        nan = nan or len(numbers) < len(values)
        if not numbers:  # NaN in every case: the reduction is NaN
            return outcomes_of([to(np.nan, out)], out)
        lows.append(min(numbers, key=float))
        highs.append(max(numbers, key=float))
    totals = _reduced(g, lows, c, out) + _reduced(g, highs, c, out)
    if nan:
        totals.append(to(np.nan, out))
    return outcomes_of(totals, out)


def _clamped_derivative(x: Scalar, y: Scalar) -> Scalar:
    """-y/x + (1 - y)/(1 - x), each term 0 where its log is at the -100 floor (a clamped term
    is constant in x), in x's dtype (the logs correctly rounded decide the floor)."""
    one, zero = _one(x), _zero(x)
    floor = to(LOG_FLOOR, x.dtype.name)
    with np.errstate(all="ignore"):
        a = -y / x if bounded("log", x, 0.5)[0] > floor else zero
        b = (one - y) / (one - x) if bounded("log1p", -x, 0.5)[0] > floor else zero
        return a + b


def _bce_grad_input(g: Gathered, variant: Variant) -> Outcomes:
    """torch/_decomp/decompositions.py (binary_cross_entropy_backward, pw_cast_for_opmath):
    ``go*(x - y) / maximum(x*(1 - x), 1e-12)``, ``* w``, ``/ float(N)`` for a mean, in the
    compute dtype; rounded into the promoted dtype, then into the input's."""
    e = g.single
    dtypes = _dtypes(e.x, e.y, e.w, e.go)
    c = _compute(dtypes)
    x, y = to(e.x, c), to(e.y, c)
    with np.errstate(all="ignore"):
        if variant.bce_grad_input == "clamped":
            v = _clamped_derivative(x, y)
            if e.go is not None:
                v = to(e.go, c) * v
        else:
            d = x - y
            if e.go is not None:
                d = to(e.go, c) * d
            v = d / _maximum(x * (_one(x) - x), to(EPSILON, c))
        if e.w is not None:
            v = v * to(e.w, c)
        if g.reduction == "mean":
            v = v / to(g.numel, c)
    out = g.argument_dtype("input")
    return outcomes_of([to(to(v, promoted_dtype(dtypes)), out)], out)


def _in_place_step(v: Scalar, d: str, other: Scalar, op: Callable) -> Scalar:
    """``t.op_(other)`` on a tensor t of dtype d held in opmath(d) (v): the operation in the
    wider dtype and rounded back into d where other is wider, else in opmath(d) unrounded
    (Inductor fuses the steps and converts to d only at the store)."""
    p = promoted_dtype({d, other.dtype.name})
    with np.errstate(all="ignore"):
        if p == d:
            return op(v, to(other, opmath(d)))
        w = opmath(p)
        return to(to(op(to(v, w), to(other, w)), d), opmath(d))


def _bce_target_raw(x: Scalar, c: str, variant: Variant) -> list[Scalar]:
    """``-logit(x)`` as generated: x clamped to [-1, 2] (the logit reference's eps = -1), then
    ``-log(x/(1 - x))``; the repair: ``max(log1p(-x), -100) - max(log x, -100)``."""
    x = to(x, c)
    one = _one(x)
    with np.errstate(all="ignore"):
        if variant.bce_grad_target == "clamped":
            return [
                a - b
                for a in _log_floor_values(variant.log1p, -x)
                for b in _log_floor_values(variant.log, x)
            ]
        if x == x:
            x = min(max(x, to(-1.0, c)), to(2.0, c))
        return [-r for r in variant.log(x / (one - x))]


def _bce_grad_target(g: Gathered, variant: Variant) -> Outcomes:
    """torch/csrc/autograd/FunctionsManual.cpp (binary_cross_entropy_target_backward):
    ``-logit(x)``, then ``.mul_(grad)``, ``.mul_(weight)``, ``.div_(numel)`` in x's dtype (the
    count converted into x's dtype first), fused into one kernel in opmath; stored in x's dtype,
    then cast to the target's."""
    e = g.single
    d = e.x.dtype.name
    c = opmath(d)
    out = []
    for v in _bce_target_raw(e.x, c, variant):
        if e.go is not None:
            v = _in_place_step(v, d, e.go, lambda a, b: a * b)
        if e.w is not None:
            v = _in_place_step(v, d, e.w, lambda a, b: a * b)
        if g.reduction == "mean":
            with np.errstate(all="ignore"):
                v = v / _count(g, c, variant)
        # the recorded gradient is read in the case's dtype: the target's value, held there
        out.append(to(to(to(v, d), g.argument_dtype("target")), g.dtype))
    return outcomes_of(out, g.dtype)


def bce_outcomes(g: Gathered, variant: Variant = INDUCTOR) -> Outcomes | None:
    """Every output the compiled binary_cross_entropy (or its input or target gradient) may give,
    each log and log1p within its bound; None where the model does not apply."""
    if g.quantity == "value":
        return _bce_value(g, variant)
    if g.quantity not in ("grad_input", "grad_target") or len(g.elements) != 1:
        return None
    if g.quantity == "grad_input":
        return _bce_grad_input(g, variant)
    return _bce_grad_target(g, variant)


def inductor_outcomes(g: Gathered, variant: Variant = INDUCTOR) -> Outcomes | None:
    """Every output the compiled loss or gradient may give (each exp and log1p within its
    bound), in the output's dtype; None where the model does not apply."""
    if not _modelled(g):
        return None
    if g.function == BCE:
        return bce_outcomes(g, variant)
    g = _widened(g)
    if g.quantity == "value":
        dtype = g.argument_dtype("target")
        c = opmath(dtype)
        if not g.elements:
            if g.reduction == "none":
                return None
            return outcomes_of([to(np.nan if g.reduction == "mean" else 0.0, dtype)], dtype)
        per = [_loss_values(e, variant) for e in g.elements]
        if any(len(v) > MAX_COMBINATIONS for v in per):
            return None
        if g.reduction == "none":
            return outcomes_of([to(v, dtype) for v in per[0]], dtype)
        return _reduced_outcomes(g, per, c, dtype)
    if g.quantity not in ("grad_input", "grad_target") or len(g.elements) != 1:
        return None
    e = g.single
    if g.quantity == "grad_input":
        return outcomes_of(_grad_input_values(g, e, variant), g.argument_dtype("input"))
    return outcomes_of(_grad_target_values(g, e, variant), g.argument_dtype("target"))


def inductor_value(g: Gathered, variant: Variant = INDUCTOR) -> Scalar | None:
    """The output as the compiled kernels compute it, or None where the elementary functions'
    last bits decide it (or the model does not apply)."""
    outcomes = inductor_outcomes(g, variant)
    return None if outcomes is None else outcomes.single()


def sigmoid_exp_overflows(g: Gathered) -> bool:
    """Some element's exp(-x) overflows in the compute dtype (float32 for float16 and
    bfloat16), so the kernel's sigmoid(x) is 0."""
    largest = float(np.finfo(np.float64 if g.dtype == "float64" else np.float32).max)
    for e in g.elements:
        if np.isfinite(e.x) and -float(e.x) > float(np.log(largest)):
            return True
    return False
