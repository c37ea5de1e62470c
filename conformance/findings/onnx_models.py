"""A model of ONNX Runtime's CPU provider running the graph ``torch.onnx.export`` writes for
``binary_cross_entropy_with_logits`` (TorchScript exporter, opset 20):

    loss = -w * [p * (y * Log(Sigmoid(x))) + (1 - y) * Log(1 - Sigmoid(x))]

then ReduceMean or ReduceSum (SOURCES). Each binary node runs in the promoted dtype of its two
operands (the exporter inserts the Casts, torch's promotion rule). float16 nodes have no CPU
kernels: ONNX Runtime's InsertCastTransformer wraps them in float32 Casts and then removes the
float16 round trips between them ("InsertedPrecisionFreeCast"), so a float16 graph runs in
float32 throughout and rounds once, at the output (seen in the optimized model that
``SessionOptions.optimized_model_filepath`` writes).

The kernels, as measured on onnxruntime 1.32.0 (the report's version):

* Sigmoid, float32 (float16 inputs included): MLAS's FMA3 logistic kernel. The input is clamped
  to [-18, 18], a rational function p(x)/q(x) (odd degree-9 numerator, even degree-10
  denominator, Horner with fused multiply-adds) is added to 0.5, and the result is clamped to
  [0, 1] (onnxruntime/core/mlas/lib/logistic.cpp, MlasLogisticConstants). ``mlas_logistic``
  reproduces it bit for bit (checked on 6,000 inputs): it is 0 for x <= -18 (and at
  scattered x between -18 and -16), 1 for x >= 18 (and at scattered x from 16 up), and below
  about x = -10 a multiple of 2**-25 (0.5 + p/q is rounded next to 0.5) up to a few multiples
  away from the logistic.
* Sigmoid, float64: Eigen's ``(x >= 0).select(1 / (1 + exp(-|x|)), 1 - 1 / (1 + exp(-|x|)))``
  (onnxruntime/core/providers/cpu/activation/activations.h). For x < 0 the subtraction from 1
  cancels: it is 0 once exp(x) is below 2**-53 (x < -36.7). Eigen's exp is a polynomial, not
  correctly rounded: the model takes it within EXP_ULPS of the correctly rounded value (every
  one of 5,000 measured outputs lies in that set).
* Log: Eigen's vectorized ``log`` (a polynomial; its scalar tail takes another path), within
  LOG_ULPS of the correctly rounded logarithm (measured: float32 at most 2 ulp, float64 at most
  1 ulp, over 5,500 arguments each in (0, 100]); log(0) = -inf, log of a negative number NaN.
* ReduceSum: an Eigen reduction in vector lanes, whose order is not modelled; ReduceMean is that
  sum divided by N (measured: bit for bit), and 0 for an empty tensor.

Because the elementary functions are bounded, not reproduced, the model evaluates every
combination of the allowed values of each element's exp and logs, and of several summation
orders (in order, reversed, 2, 4, 8 and 16 lanes): it returns an output only where all of them
give the same bits, and None (no prediction) where the kernels' last-bit behaviour decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from mpmath import mp

from conformance.backends.protocol import promoted_dtype
from conformance.findings.arithmetic import Scalar, exp, log, opmath, same_bits, to
from conformance.findings.elements import Element, Gathered
from conformance.findings.outcomes import Outcomes, outcomes_of, summation_orders

SOURCES = {
    "graph": (
        "torch/onnx/symbolic_opset12.py (binary_cross_entropy_with_logits: Sigmoid, Log, "
        "Sub(1, sigmoid), Log, Mul, Add, Neg, Mul(weight), ReduceMean/ReduceSum)"
    ),
    "sigmoid_float": (
        "onnxruntime/core/mlas/lib/logistic.cpp (MlasLogisticConstants: input clamped to "
        "[-18, 18], 0.5 + p/q clamped to [0, 1]); "
        "onnxruntime/core/mlas/lib/x86_64/LogisticKernelFma3.S"
    ),
    "sigmoid_double": (
        "onnxruntime/core/providers/cpu/activation/activations.h (Sigmoid<double>: "
        "(x >= 0).select(1 / (1 + exp(-|x|)), 1 - 1 / (1 + exp(-|x|))))"
    ),
    "log": "onnxruntime/core/providers/cpu/math/element_wise_ops.cc (Log: Eigen array log)",
    "reduce": (
        "onnxruntime/core/providers/cpu/reduction/reduction_ops.cc (ReduceMean: the sum "
        "divided by N; 0 over an empty tensor)"
    ),
    "float16": (
        "onnxruntime/core/optimizer/insert_cast_transformer.cc (float16 nodes without a CPU "
        "kernel run in float32 between inserted Casts)"
    ),
    "export_scalar": (
        "torch/onnx/symbolic_opset12.py (the constant 1 of 1 - sigmoid and 1 - target is a "
        "one-element tensor, float32 for float64 0-d arguments)"
    ),
}

LOG_ULPS = {"float32": 2, "float64": 1}  # Eigen's log against the correctly rounded one
EXP_ULPS = 1  # Eigen's double exp (inside Sigmoid<double>)
MAX_OUTCOMES = 4096  # per element: more combinations than this is no prediction

# MLAS's logistic: LowerRange, UpperRange, alpha_9..alpha_1, beta_10..beta_0 (logistic.cpp)
_MLAS = tuple(
    np.float32(v)
    for v in (
        -18.0,
        18.0,
        4.37031012579801e-11,
        1.15627324459942e-07,
        6.08574864600143e-05,
        8.51377133304701e-03,
        2.48287947061529e-01,
        6.10247389755681e-13,
        5.76102136993427e-09,
        6.29106785017040e-06,
        1.70198817374094e-03,
        1.16817656904453e-01,
        9.93151921023180e-01,
    )
)


def _fma32(a: Scalar, b: Scalar, c: Scalar) -> Scalar:
    """``vfmadd``: a*b + c rounded once into float32."""
    with mp.workprec(200):
        return to(mp.mpf(float(a)) * mp.mpf(float(b)) + mp.mpf(float(c)), "float32")


def mlas_logistic(x: Scalar) -> Scalar:
    """MLAS's float32 logistic, bit for bit: ``clamp(0.5 + p(v)/q(v), 0, 1)``, ``v`` the input
    clamped to [-18, 18] (maxps/minps: a NaN input passes through)."""
    x = np.float32(x)
    lo, hi, a9, a7, a5, a3, a1, b10, b8, b6, b4, b2, b0 = _MLAS
    v = lo if lo > x else x
    v = hi if hi < v else v
    with np.errstate(all="ignore"):
        v2 = v * v
        p = _fma32(v2, a9, a7)
        for c in (a5, a3, a1):
            p = _fma32(p, v2, c)
        p = p * v
        q = _fma32(v2, b10, b8)
        for c in (b6, b4, b2, b0):
            q = _fma32(q, v2, c)
        r = p / q + np.float32(0.5)
    if r != r:
        return r
    return np.float32(1) if r > 1 else (np.float32(0) if r < 0 else r)


def _neighbours(r: Scalar, k: int) -> list[Scalar]:
    """``r`` and the k floats either side of it (a special value or a zero alone)."""
    if not np.isfinite(r) or r == 0:
        return [r]
    out = [r]
    up = down = r
    for _ in range(k):
        up = np.nextafter(up, np.asarray(np.inf, dtype=r.dtype)[()])
        down = np.nextafter(down, np.asarray(-np.inf, dtype=r.dtype)[()])
        out += [up, down]
    return out


def eigen_log(v: Scalar) -> list[Scalar]:
    """The values Eigen's log may return: the correctly rounded log within LOG_ULPS."""
    return _neighbours(log(v), LOG_ULPS[v.dtype.name])


def sigmoid_double(x: Scalar) -> list[Scalar]:
    """Eigen's float64 Sigmoid for each allowed value of exp(-|x|)."""
    one = np.float64(1)
    out = []
    with np.errstate(all="ignore"):
        for e in _neighbours(exp(-abs(x)), EXP_ULPS):
            r = one / (one + e)
            out.append(r if x >= 0 else one - r)
    return out


def ort_sigmoid(x: Scalar) -> list[Scalar]:
    """ONNX Runtime's Sigmoid of x in its compute dtype (float32 for float16)."""
    if x.dtype.name == "float64":
        return sigmoid_double(x)
    return [mlas_logistic(to(x, "float32"))]


def exact_sigmoid(x: Scalar) -> list[Scalar]:
    """The logistic correctly rounded into x's compute dtype (a repaired Sigmoid kernel)."""
    dtype = opmath(x.dtype.name)
    v = float(x)
    if v != v:
        return [to(v, dtype)]
    with mp.workprec(320):
        return [to(1 / (1 + mp.exp(-mp.mpf(v))), dtype)]


def exact_log_sigmoid(x: Scalar, dtype: str) -> Scalar:
    """log(sigmoid(x)) = -softplus(-x), correctly rounded into ``dtype``."""
    v = float(x)
    if v != v:
        return to(v, dtype)
    if np.isinf(v):
        return to(0.0 if v > 0 else v, dtype)
    with mp.workprec(320):
        z = -mp.mpf(v)
        softplus = z + mp.log1p(mp.exp(-z)) if z > 0 else mp.log1p(mp.exp(z))
        return to(-softplus, dtype)


@dataclass(frozen=True)
class Variant:
    """Which kernels the model runs: ONNX Runtime's (the defaults) or a repaired one."""

    sigmoid: Callable[[Scalar], list[Scalar]] = ort_sigmoid
    log_sigmoid_terms: bool = False  # log(sigmoid(+-x)) correctly rounded, no Sigmoid node
    empty_mean: float = 0.0  # ReduceMean over nothing


ORT = Variant()


class _T:
    """A tensor value: its declared dtype and its value in the dtype it is computed in."""

    __slots__ = ("decl", "v")

    def __init__(self, v: Scalar, decl: str) -> None:
        self.decl, self.v = decl, to(v, opmath(decl))


def _op(f: Callable[[Scalar, Scalar], Scalar], a: _T, b: _T) -> _T:
    decl = promoted_dtype({a.decl, b.decl})
    wide = opmath(decl)
    with np.errstate(all="ignore"):
        return _T(f(to(a.v, wide), to(b.v, wide)), decl)


def _mul(a: _T, b: _T) -> _T:
    return _op(lambda u, v: u * v, a, b)


def _decl(v: Scalar) -> str:
    return v.dtype.name


def _log_terms(e: Element, variant: Variant) -> Iterable[tuple[Scalar, Scalar]]:
    """(log(sigmoid(x)), log(1 - sigmoid(x))) in the input's compute dtype, every allowed pair."""
    dtype = opmath(_decl(e.x))
    if variant.log_sigmoid_terms:
        yield exact_log_sigmoid(e.x, dtype), exact_log_sigmoid(-e.x, dtype)
        return
    one = np.asarray(1, dtype=dtype)[()]
    for s in variant.sigmoid(e.x):
        with np.errstate(all="ignore"):
            rest = one - s
        for a in eigen_log(s):
            for b in eigen_log(rest):
                yield a, b


def element_outcomes(e: Element, variant: Variant = ORT) -> list[_T]:
    """Every value the graph may give one loss element (before the reduction)."""
    y = _T(e.y, _decl(e.y))
    one_y = _T(np.asarray(1, dtype=e.y.dtype)[()], _decl(e.y))
    one_minus_y = _op(lambda u, v: u - v, one_y, y)
    out = []
    for a, b in _log_terms(e, variant):
        t1 = _mul(y, _T(a, _decl(e.x)))
        if e.p is not None:
            t1 = _mul(t1, _T(e.p, _decl(e.p)))
        t2 = _mul(one_minus_y, _T(b, _decl(e.x)))
        s = _op(lambda u, v: u + v, t1, t2)
        loss = _T(-s.v, s.decl)
        if e.w is not None:
            loss = _mul(_T(e.w, _decl(e.w)), loss)
        out.append(loss)
        if len(out) > MAX_OUTCOMES:
            break
    return out


def _split(values: list[_T]) -> tuple[list[_T], list[_T], bool]:
    """The smallest and largest number among an element's outcomes (NaN aside), and whether
    NaN is among them."""
    numbers = [t for t in values if t.v == t.v]
    nan = len(numbers) < len(values)
    if not numbers:
        return [], [], nan
    return [min(numbers, key=lambda t: float(t.v))], [max(numbers, key=lambda t: float(t.v))], nan


def _reductions(g: Gathered, values: list[Scalar], variant: Variant, decl: str) -> list[Scalar]:
    """ReduceSum/ReduceMean of the element values in each order, rounded to ``decl``."""
    wide = opmath(decl)
    zero = to(0.0, wide)
    totals = summation_orders([to(v, wide) for v in values], zero) if values else [zero]
    out = []
    with np.errstate(all="ignore"):
        for total in totals:
            if g.reduction == "mean":
                total = total / to(g.numel, wide) if g.numel else to(variant.empty_mean, wide)
            out.append(to(total, decl))
    return out


def ort_logits_outcomes(g: Gathered, variant: Variant = ORT) -> Outcomes | None:
    """Every output the exported graph may give under ONNX Runtime's kernels (each elementary
    function within its bound, each summation order): since the loss rises or falls
    monotonically with each element's loss, the outputs lie between the reduction of the
    elements' smallest outcomes and that of their largest."""
    if not g.elements:
        if g.reduction != "mean":
            return None
        decl = promoted_dtype({g.dtype, *(d for _, d in g.argument_dtypes)})
        return outcomes_of([to(variant.empty_mean, decl)], decl)
    per_element = [element_outcomes(e, variant) for e in g.elements]
    decl = per_element[0][0].decl
    if g.reduction == "none":
        return outcomes_of([to(t.v, decl) for t in per_element[0]], decl)
    lows, highs, nan = [], [], False
    for outcomes in per_element:
        low, high, maybe_nan = _split(outcomes)
        nan = nan or maybe_nan
        if not low:  # an element that is NaN in every case: the reduction is NaN
            return outcomes_of([to(np.nan, decl)], decl)
        lows += low
        highs += high
    values = _reductions(g, [t.v for t in lows], variant, decl)
    values += _reductions(g, [t.v for t in highs], variant, decl)
    if nan:
        values.append(to(np.nan, decl))
    return outcomes_of(values, decl)


def ort_logits_value(g: Gathered, variant: Variant = ORT) -> Scalar | None:
    """The exported graph's output as ONNX Runtime computes it, or None where the kernels'
    rounding within their bounds (or the summation order) decides the bits."""
    outcomes = ort_logits_outcomes(g, variant)
    return None if outcomes is None else outcomes.single()


def sigmoid_kernel_rounds_away(g: Gathered) -> bool:
    """Some element's Sigmoid (the kernel's) is not the correctly rounded logistic: MLAS's
    approximation in float32, Eigen's 1 - 1/(1 + exp(x)) cancelling for x < 0 in float64."""
    for e in g.elements:
        exact = exact_sigmoid(e.x)[0]
        kernel = ort_sigmoid(e.x)
        if e.x.dtype.name == "float64":
            if e.x < 0 and not any(same_bits(s, exact) for s in kernel):
                return True
        elif not same_bits(kernel[0], exact):
            return True
    return False
