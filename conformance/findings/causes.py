"""The registry of causes: why a framework's output differs from the oracle, by mechanism.

A cause names a mechanism in one line, where it lives in the kernel sources, the severity tier it
suggests, the condition on an example under which it can be at work, and either a *formula* (the
backend's kernel, conformance.findings.kernels, which must reproduce the recorded output bit for
bit) with a *repaired formula* (the same computation with the flaw fixed, which must not), or a
*probe* (a stated check on the case, for outcomes without a number such as ``did_not_raise``).

Causes are tried in the order of ``CAUSES``; the first whose condition holds and whose formula
reproduces every example of a class explains it (conformance.findings.attribution). The order
puts the narrow mechanisms (a NaN argument the formula never reads, one branch at x = 0) before
the broad ones (IEEE special values, intermediate overflow).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from mpmath import mp

from conformance.backends.protocol import promoted_dtype
from conformance.cases import Case, CaseError, argument_dtype, result_dtype
from conformance.findings import inductor_models as im
from conformance.findings import kernels as k
from conformance.findings import onnx_models as ox
from conformance.findings import xla_models as xm
from conformance.findings.arithmetic import Scalar, cmax, exp, log, log1p, to
from conformance.findings.elements import Element, Gathered

BCE = k.BCE
LOGITS = k.LOGITS
TIERS = ("defect", "contract", "convention", "out-of-contract")

Condition = Callable[[Gathered, Scalar, Any], bool]  # (elements, recorded output, example)
Formula = Callable[[str, Gathered], Scalar | None]  # (backend, elements) -> output
Probe = Callable[[Any], bool]  # example -> whether the stated check holds


@dataclass(frozen=True)
class Cause:
    id: str
    mechanism: str  # one line for people
    tier: str  # suggested severity tier (TIERS)
    backends: tuple[str, ...]
    source: dict[str, str]  # backend -> kernel source location
    functions: tuple[str, ...] = ()  # empty: any function
    quantities: tuple[str, ...] = ()  # empty: any quantity
    condition: Condition | None = None
    formula: Formula | None = None
    repaired: Formula | None = None
    repaired_text: str = ""  # what the repaired formula changes
    probe: Probe | None = None
    probe_text: str = ""
    verdicts: tuple[str, ...] = field(default=())  # empty: any verdict

    def applies_to(self, backend: str, function: str, quantity: str, verdict: str) -> bool:
        return (
            backend in self.backends
            and (not self.functions or function in self.functions)
            and (not self.quantities or quantity in self.quantities)
            and (not self.verdicts or verdict in self.verdicts)
        )


# ------------------------------------------------------------------ conditions


def _finite(v: Scalar | None) -> bool:
    return v is None or bool(np.isfinite(v))


def all_finite(g: Gathered, got: Scalar, ex: Any) -> bool:
    return g.all_finite()


def finite_in_and_out(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and a finite (wrong) output: an accuracy mechanism."""
    return g.all_finite() and bool(np.isfinite(got))


def any_nonfinite_input(g: Gathered, got: Scalar, ex: Any) -> bool:
    return not g.all_finite()


def nan_target(g: Gathered, got: Scalar, ex: Any) -> bool:
    return any(bool(np.isnan(e.y)) for e in g.elements)


def nan_weight(g: Gathered, got: Scalar, ex: Any) -> bool:
    return any(e.w is not None and bool(np.isnan(e.w)) for e in g.elements)


def target_unread_finite(g: Gathered, got: Scalar, ex: Any) -> bool:
    """x, w, p finite (the formula does not read y) and a finite output."""
    return bool(np.isfinite(got)) and all(
        _finite(e.x) and _finite(e.w) and _finite(e.p) for e in g.elements
    )


def _expected_finite(ex: Any) -> bool:
    try:
        return math.isfinite(float(ex.expected))
    except (TypeError, ValueError):
        return False


def overflow(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and a NaN output, or an infinite output where the exact result is finite
    (a NaN from finite inputs needs an infinity on the way: inf - inf, 0 * inf)."""
    if not g.all_finite() or bool(np.isfinite(got)):
        return False
    return bool(np.isnan(got)) or _expected_finite(ex)


def float16_epsilon_flushed(g: Gathered, got: Scalar, ex: Any) -> bool:
    """float16, finite inputs, and ``max((1 - x) * x, EPSILON)`` is 0 for the element."""
    if g.dtype != "float16" or not g.all_finite():
        return False
    eps = k.torch_epsilon("float16")
    with np.errstate(all="ignore"):
        return any(cmax((np.float16(1) - e.x) * e.x, eps) == 0 for e in g.elements)


def zero_logit_without_pos_weight(g: Gathered, got: Scalar, ex: Any) -> bool:
    return g.all_finite() and all(e.p is None and e.x == 0 for e in g.elements)


# ------------------------------------------------------------------ formulas


def kernel(backend: str, g: Gathered) -> Scalar | None:
    if backend == "torch-compile":  # Inductor's generated kernels (inductor_models)
        return im.inductor_value(g)
    model = k.model_for(backend, g.function, g.quantity)
    return None if model is None else model(g)


def _one(v: Scalar) -> Scalar:
    return np.asarray(1, dtype=v.dtype)[()]


def _zero(v: Scalar) -> Scalar:
    return np.asarray(0, dtype=v.dtype)[()]


def _sigmoid(x: Scalar) -> Scalar:
    with np.errstate(all="ignore"):
        return _one(x) / (_one(x) + exp(-x))


def _softplus_neg(x: Scalar) -> Scalar:
    """softplus(-x) = log(1 + e^-x) = max(-x, 0) + log1p(exp(-|x|))."""
    with np.errstate(all="ignore"):
        return (-x if x < 0 else _zero(x)) + log1p(exp(-abs(x)))


def _accurate_logits_loss(e: Element) -> Scalar:
    """(1 - y)*x + lw*softplus(-x) without cancellation: for x < 0 it is
    -x*y*p + lw*log1p(e^x) (since 1 - y - lw = -y*p), for x >= 0 (1 - y)*x + lw*log1p(e^-x)."""
    one = _one(e.x)
    p = e.p if e.p is not None else one
    with np.errstate(all="ignore"):
        lw = (p - one) * e.y + one
        if e.x < 0:
            loss = (-e.x) * (e.y * p) + lw * log1p(exp(e.x))
        else:
            loss = (one - e.y) * e.x + lw * log1p(exp(-e.x))
        return loss * e.w if e.w is not None else loss


def _accurate_logits_derivative(e: Element) -> Scalar:
    """d/dx = (1 - y)*sigma(x) - p*y*sigma(-x), each product of rounded sigmoids."""
    one = _one(e.x)
    p = e.p if e.p is not None else one
    with np.errstate(all="ignore"):
        return (one - e.y) * _sigmoid(e.x) - (p * e.y) * _sigmoid(-e.x)


def _scaled_like(backend: str, g: Gathered, per_element: Callable[[Element], Scalar]) -> Scalar:
    """``per_element`` with the backend's epilogue (weight, mean) and broadcast sum."""
    if backend == "torch":
        return k.sum_contributions(g, lambda e: k.torch_scale(g, e, per_element(e)))
    return k.sum_contributions(g, lambda e: k.paddle_grad_of_kernel(g, e, per_element(e)))


def repaired_logits_loss(backend: str, g: Gathered) -> Scalar:
    if g.quantity == "value":
        return k.reduce(g, _accurate_logits_loss)

    def unweighted(e: Element) -> Scalar:
        v = _accurate_logits_loss(Element(e.x, e.y, None, e.p))
        with np.errstate(all="ignore"):
            return k.paddle_dout(g, v) * v

    return k.sum_contributions(g, unweighted)


def _wide_logits_derivative(e: Element) -> Scalar:
    """(1 - y)*sigma(x) - p*y*sigma(-x) evaluated with 320-bit mpmath and rounded once."""
    with mp.workprec(320):
        x, y = mp.mpf(float(e.x)), mp.mpf(float(e.y))
        p = mp.mpf(1) if e.p is None else mp.mpf(float(e.p))
        value = (1 - y) / (1 + mp.exp(-x)) - p * y / (1 + mp.exp(x))
    return to(value, e.x.dtype.name)


def repaired_logits_grad_input(backend: str, g: Gathered) -> Scalar:
    return _scaled_like(backend, g, _wide_logits_derivative)


def _accurate_sigmoid_derivative(e: Element) -> Scalar:
    """sigma(x) - y with sigma(x) = e^x/(1 + e^x) for x < 0 (no overflow of e^-x)."""
    with np.errstate(all="ignore"):
        if e.x < 0:
            ex = exp(e.x)
            s = ex / (_one(ex) + ex)
        else:
            s = _sigmoid(e.x)
        if e.p is None:
            return s - e.y
        t = e.p * e.y
        return ((t + _one(t)) - e.y) * s - t


def repaired_sigmoid_overflow(backend: str, g: Gathered) -> Scalar:
    return _scaled_like(backend, g, _accurate_sigmoid_derivative)


def sigmoid_exp_overflows(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and e^-x overflows in the dtype sigmoid computes in (float32 for the
    reduced types)."""
    if not g.all_finite():
        return False
    compute = "float32" if g.dtype in ("float16", "bfloat16") else g.dtype
    limit = math.log(float(np.finfo(np.float32 if compute == "float32" else compute).max))
    return any(-float(e.x) > limit for e in g.elements)


def _wide_target_derivative(e: Element) -> Scalar:
    """-x + (p - 1)*softplus(-x) (exactly -x without pos_weight), 320-bit, rounded once."""
    if e.p is None:
        return -e.x
    with mp.workprec(320):
        x, p = mp.mpf(float(e.x)), mp.mpf(float(e.p))
        value = -x + (p - 1) * mp.log1p(mp.exp(-x))
    return to(value, e.x.dtype.name)


def repaired_logits_grad_target(backend: str, g: Gathered) -> Scalar:
    """The target derivative evaluated with 320-bit mpmath and rounded once: without the two
    rounded log_sigmoid terms."""
    return _scaled_like(backend, g, _wide_target_derivative)


def repaired_bce_backward(backend: str, g: Gathered) -> Scalar:
    """The derivative of the clamped loss, -y/x + (1 - y)/(1 - x), each term 0 where its log is
    clamped at -100 (docs/semantics.md: a clamped term is constant in x)."""

    def one(e: Element) -> Scalar:
        one_, zero = _one(e.x), _zero(e.x)
        hundred = np.asarray(-100, dtype=e.x.dtype)[()]
        with np.errstate(all="ignore"):
            a = -e.y / e.x if log(e.x) > hundred else zero
            b = (one_ - e.y) / (one_ - e.x) if log1p(-e.x) > hundred else zero
            return a + b

    return _scaled_like(backend, g, one)


def repaired_bce_target_gradient(backend: str, g: Gathered) -> Scalar:
    """The derivative of the clamped loss: max(log1p(-x), -100) - max(log(x), -100)."""

    def one(e: Element) -> Scalar:
        hundred = np.asarray(-100, dtype=e.x.dtype)[()]
        with np.errstate(all="ignore"):
            return cmax(log1p(-e.x), hundred) - cmax(log(e.x), hundred)

    return _scaled_like(backend, g, one)


def repaired_paddle_zero_branch(backend: str, g: Gathered) -> Scalar:
    """The kernel with term1 = (x >= 0), the branch abs_grad already uses."""

    def one(e: Element) -> Scalar:
        x, y, one_, zero = e.x, e.y, _one(e.x), _zero(e.x)
        with np.errstate(all="ignore"):
            term1 = one_ if x >= 0 else zero
            e_x = exp(-abs(x))
            term3 = (-e_x * (one_ if x >= 0 else -one_)) / (one_ + e_x)
            return (term1 - y) + term3

    return _scaled_like(backend, g, one)


def repaired_paddle_bce(backend: str, g: Gathered) -> Scalar:
    """The loss with log1p(-x) for log(1 - x)."""

    def unweighted(e: Element) -> Scalar:
        hundred = np.asarray(-100, dtype=e.x.dtype)[()]
        with np.errstate(all="ignore"):
            a = cmax(log1p(-e.x), hundred)
            b = cmax(log(e.x), hundred)
            return (e.y - _one(e.y)) * a - e.y * b

    if g.quantity == "value":
        return k.reduce(g, lambda e: k.paddle_weighted(e, unweighted(e)))

    def grad_weight(e: Element) -> Scalar:
        v = unweighted(e)
        with np.errstate(all="ignore"):
            return k.paddle_dout(g, v) * v

    return k.sum_contributions(g, grad_weight)


def reduced_finite(g: Gathered, got: Scalar, ex: Any) -> bool:
    """A float16 or bfloat16 output from finite inputs, itself finite."""
    return g.dtype in k.REDUCED_TYPES and finite_in_and_out(g, got, ex)


def _widened(g: Gathered, dtype: str) -> Gathered:
    """The same elements, every argument converted (exactly) to ``dtype``."""

    def wide(v: Scalar | None) -> Scalar | None:
        return None if v is None else to(v, dtype)

    elements = tuple(
        Element(wide(e.x), wide(e.y), wide(e.w), wide(e.p), wide(e.go)) for e in g.elements
    )
    return replace(g, dtype=dtype, elements=elements)


def float32_finite(g: Gathered, got: Scalar, ex: Any) -> bool:
    """A float32 output (all arguments float32) from finite inputs, itself finite."""
    return g.dtype == "float32" and not g.argument_dtypes and finite_in_and_out(g, got, ex)


def kernel_in(dtype: str) -> Formula:
    """The backend's kernel formula evaluated in ``dtype`` throughout, rounded once to the
    case's dtype (a repaired formula for the generic rounding causes)."""

    def formula(backend: str, g: Gathered) -> Scalar | None:
        out = kernel(backend, _widened(g, dtype))
        return None if out is None else to(out, g.dtype)

    return formula


def mixed_finite(g: Gathered, got: Scalar, ex: Any) -> bool:
    """A mixed-dtype case with finite inputs and a finite output."""
    return bool(g.argument_dtypes) and finite_in_and_out(g, got, ex)


def kernel_in_promoted_dtype(backend: str, g: Gathered) -> Scalar | None:
    """The backend's kernel formula with every argument widened to the promoted dtype of the
    case, its result rounded once to the dtype the kernel returns."""
    narrow = kernel(backend, g)
    if narrow is None:
        return None
    wide = promoted_dtype({g.dtype, *(d for _, d in g.argument_dtypes)})
    out = kernel(backend, replace(_widened(g, wide), argument_dtypes=()))
    return None if out is None else to(out, narrow.dtype.name)


def paddle_ignored_label(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Some element's target truncates to paddle's ignore_index (-100)."""
    return any(k.paddle_ignored(e.y) for e in g.elements)


_PADDLE_LOGITS = {
    "value": k.paddle_logits_value,
    "grad_input": k.paddle_logits_grad_input,
    "grad_weight": k.paddle_logits_grad_weight,
}


def paddle_without_ignore_index(backend: str, g: Gathered) -> Scalar | None:
    """paddle's kernel with the ignore_index test taken out (the loss formula everywhere)."""
    model = _PADDLE_LOGITS.get(g.quantity)
    return None if model is None else model(g, ignore_index=False)


# ------------------------------------------------------------------ tensorflow


def _tf_model(g: Gathered) -> k.Model | None:
    return k.model_for("tensorflow", g.function, g.quantity)


def tf_denormal_flushed(g: Gathered, got: Scalar, ex: Any) -> bool:
    """A float32, float64 or bfloat16 case whose kernel model flushes a subnormal (an input read
    as 0, or an intermediate or result written as 0)."""
    model = _tf_model(g)
    if g.dtype not in k.TF_FLUSHED or model is None:
        return False
    try:
        _, events = k.tf_evaluate(model, g)
    except k.NearMidpoint:
        return False
    return events > 0


def tf_denormals_kept(backend: str, g: Gathered) -> Scalar | None:
    """The same kernels with IEEE subnormals (no FTZ/DAZ)."""
    model = _tf_model(g)
    return None if model is None else k.tf_evaluate(model, g, flush=False)[0]


def _keras_bounds(g: Gathered) -> tuple[Scalar, Scalar]:
    return k.keras_clip_bounds(g.dtype)


def keras_upper_bound_is_one(g: Gathered, got: Scalar, ex: Any) -> bool:
    """1 - 1e-7 rounds to 1 in the dtype (float16, bfloat16) and some input is 1."""
    _, hi = _keras_bounds(g)
    return g.all_finite() and hi == 1 and any(e.x == 1 for e in g.elements)


def _below_one(dtype: str) -> tuple[Scalar, Scalar]:
    """The clip bounds with the upper one the largest number below 1 of the dtype."""
    lo, hi = k.keras_clip_bounds(dtype)
    return lo, np.nextafter(hi, _zero(hi)) if hi == 1 else hi


_KERAS = {
    "value": k.keras_bce_value,
    "grad_input": k.keras_bce_grad_input,
    "grad_target": k.keras_bce_grad_target,
}


def keras_upper_bound_below_one(backend: str, g: Gathered) -> Scalar | None:
    model = _KERAS.get(g.quantity)
    return None if model is None else model(g, bounds=_below_one)


def keras_clip_active(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and some input (as the flushed kernel reads it) outside [1e-7, 1 - 1e-7]
    rounded to the dtype: the clip replaces it."""
    if not g.all_finite():
        return False
    lo, hi = _keras_bounds(g)
    return any(not (lo <= k.tf_flush(e.x) <= hi) for e in g.elements)


def _tf_scaled(g: Gathered, derivative: Callable[[Element], Scalar]) -> Scalar:
    """``g * derivative`` per element (the upstream gradient, 1/N for a mean), summed over
    broadcast axes as the TensorFlow models do."""
    return k.tf_contributions(g, lambda e, go: k._mul(go, derivative(e)))


def _clamped_log(v: Scalar) -> Scalar:
    return cmax(log(v), np.asarray(-100, dtype=v.dtype)[()])


def _clamped_log1p_neg(v: Scalar) -> Scalar:
    return cmax(log1p(-v), np.asarray(-100, dtype=v.dtype)[()])


def _clamped_bce_derivative(e: Element) -> Scalar:
    """-z/x + (1 - z)/(1 - x), each term 0 where its log is clamped at -100."""
    hundred = np.asarray(-100, dtype=e.x.dtype)[()]
    one, zero = _one(e.x), _zero(e.x)
    a = -k._div(e.y, e.x) if log(e.x) > hundred else zero
    b = k._div(k._sub(one, e.y), k._sub(one, e.x)) if log1p(-e.x) > hundred else zero
    return k._add(a, b)


def keras_unclipped(backend: str, g: Gathered) -> Scalar | None:
    """The documented loss without the clip: -(z*max(log x, -100) + (1 - z)*max(log1p(-x),
    -100)), and its derivatives (each term 0 where its log is clamped)."""

    def loss(e: Element) -> Scalar:
        a = k._mul(e.y, _clamped_log(e.x))
        return -k._add(a, k._mul(k._sub(_one(e.y), e.y), _clamped_log1p_neg(e.x)))

    def grad_target(e: Element) -> Scalar:
        return k._sub(_clamped_log1p_neg(e.x), _clamped_log(e.x))

    if g.quantity == "value":
        return k.tf_reduce(g, loss)
    if g.quantity == "grad_target":
        return _tf_scaled(g, grad_target)
    if g.quantity == "grad_input":
        return _tf_scaled(g, _clamped_bce_derivative)
    return None


def keras_log1p(backend: str, g: Gathered) -> Scalar | None:
    """The Keras loss with log1p(-o) for log(1 - o) (the clip kept)."""
    if g.quantity == "value":
        return k.keras_bce_value(g, log1p_fix=True)
    if g.quantity == "grad_target":
        return k.keras_bce_grad_target(g, log1p_fix=True)
    return None


def zero_logit_with_pos_weight(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs, a pos_weight, and a logit of exactly 0."""
    return g.all_finite() and any(e.p is not None and e.x == 0 for e in g.elements)


def tf_one_sided_abs(backend: str, g: Gathered) -> Scalar:
    """The same gradient graph with Abs's derivative 1 at x = 0 (sign(0) taken as +1)."""
    return k.tf_logits_grad_input(g, sign_at_zero=1)


def tf_accurate_logits_loss(backend: str, g: Gathered) -> Scalar:
    return k.tf_reduce(g, _accurate_logits_loss)


def tf_wide_logits_grad_input(backend: str, g: Gathered) -> Scalar:
    return _tf_scaled(g, _wide_logits_derivative)


def _wide_pos_weight_derivative(e: Element) -> Scalar:
    """z*softplus(-x), 320-bit, rounded once."""
    with mp.workprec(320):
        x, y = mp.mpf(float(e.x)), mp.mpf(float(e.y))
        value = y * mp.log1p(mp.exp(-x))
    return to(value, e.x.dtype.name)


def tf_wide_logits_grad_target(backend: str, g: Gathered) -> Scalar | None:
    if g.quantity == "grad_target":
        return _tf_scaled(g, _wide_target_derivative)
    if g.quantity == "grad_pos_weight":
        return _tf_scaled(g, _wide_pos_weight_derivative)
    return None


def tf_in(dtype: str) -> Formula:
    """The TensorFlow graph evaluated with every argument in ``dtype``, rounded once to the
    case's dtype; the Keras clip keeps the case dtype's bounds."""

    def formula(backend: str, g: Gathered) -> Scalar | None:
        wide = _widened(g, dtype)
        if g.function == BCE:
            narrow = k.keras_clip_bounds(g.dtype)
            lo, hi = (to(b, dtype) for b in narrow)
            model = _KERAS.get(g.quantity)
            out = None if model is None else model(wide, bounds=lambda _: (lo, hi))
        else:
            model = k.TF_MODELS.get((g.function, g.quantity))
            out = None if model is None else model(wide)
        return None if out is None else to(out, g.dtype)

    return formula


def float16_mean_over_65504(g: Gathered, got: Scalar, ex: Any) -> bool:
    """A float16 mean over more than 65504 elements (N rounds to inf in float16)."""
    return g.dtype == "float16" and g.reduction == "mean" and g.numel > 65504


def tf_mean_count_in_float32(backend: str, g: Gathered) -> Scalar | None:
    """The same kernels with _MeanGrad's 1/N formed in float32, then rounded to float16."""
    k.TF_MEAN_COUNT_IN_FLOAT32[0] = True
    try:
        return kernel(backend, g)
    finally:
        k.TF_MEAN_COUNT_IN_FLOAT32[0] = False


def keras_reciprocal_overflows(g: Gathered, got: Scalar, ex: Any) -> bool:
    """float16, finite inputs, and 1/o or 1/(1 - o) of the clipped probability overflows."""
    if g.dtype != "float16" or not g.all_finite():
        return False
    big = np.float16(65504)
    with np.errstate(all="ignore"):
        for e in g.elements:
            o = k.keras_clipped(e.x)
            if np.float16(1) / o > big or np.float16(1) / (np.float16(1) - o) > big:
                return True
    return False


def keras_divided(backend: str, g: Gathered) -> Scalar:
    """The Keras input gradient with Log's gradient as grad / x (no reciprocal)."""
    return k.keras_bce_grad_input(
        g, derivative=lambda e, go, o: k.keras_bce_derivative(e, go, o, divide=True)
    )


def _wide_bce_quotient(e: Element) -> Scalar:
    """(x - z)/(x(1 - x)), 320-bit, rounded once (0 outside the clip range, as the kernel)."""
    lo, hi = k.keras_clip_bounds(e.x.dtype.name)
    if not (lo <= e.x <= hi):
        return _zero(e.x)
    with mp.workprec(320):
        x, y = mp.mpf(float(e.x)), mp.mpf(float(e.y))
        value = (x - y) / (x * (1 - x))
    return to(value, e.x.dtype.name)


def keras_wide_grad_input(backend: str, g: Gathered) -> Scalar:
    return _tf_scaled(g, _wide_bce_quotient)


def _wide_neg_logit(e: Element) -> Scalar:
    """log(1 - o) - log(o) of the clipped o, 320-bit, rounded once."""
    o = k.keras_clipped(e.x)
    with mp.workprec(320):
        v = mp.mpf(float(o))
        value = mp.log(1 - v) - mp.log(v) if 0 < v < 1 else None
    return to(value, e.x.dtype.name) if value is not None else _zero(e.x)


def keras_wide_grad_target(backend: str, g: Gathered) -> Scalar:
    return _tf_scaled(g, _wide_neg_logit)


def tf_reduced_finite(g: Gathered, got: Scalar, ex: Any) -> bool:
    return g.dtype in k.REDUCED_TYPES and finite_in_and_out(g, got, ex)


# ------------------------------------------------------------------ onnxruntime


def _ort_input_dtype(g: Gathered) -> str:
    return k.opmath(g.argument_dtype("input"))


def ort_float32_sigmoid_inexact(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs, an input computed in float32 (float32 or float16), and MLAS's Sigmoid of
    some element is not the correctly rounded logistic."""
    return g.all_finite() and _ort_input_dtype(g) == "float32" and ox.sigmoid_kernel_rounds_away(g)


def ort_float64_sigmoid_cancels(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite float64 inputs and some x < 0 whose Sigmoid, 1 - 1/(1 + exp(x)), cannot be the
    correctly rounded logistic for any allowed exp."""
    return g.all_finite() and _ort_input_dtype(g) == "float64" and ox.sigmoid_kernel_rounds_away(g)


def ort_exact_sigmoid(backend: str, g: Gathered) -> ox.Outcomes | None:
    """Every output of the same graph and kernels with Sigmoid the correctly rounded logistic
    (the logs within their bounds, any summation order)."""
    return ox.ort_logits_outcomes(g, ox.Variant(sigmoid=ox.exact_sigmoid))


def ort_log_sigmoid_graph(backend: str, g: Gathered) -> ox.Outcomes | None:
    """Every output of the graph with log(Sigmoid(x)) and log(1 - Sigmoid(x)) replaced by
    log_sigmoid(x) and log_sigmoid(-x), correctly rounded (torch's own loss is built on
    log_sigmoid), in any summation order."""
    return ox.ort_logits_outcomes(g, ox.Variant(log_sigmoid_terms=True))


def empty_mean(g: Gathered, got: Scalar, ex: Any) -> bool:
    return g.reduction == "mean" and g.numel == 0


def ort_empty_mean_nan(backend: str, g: Gathered) -> ox.Outcomes | None:
    """ReduceMean over nothing as 0/0 = NaN."""
    return ox.ort_logits_outcomes(g, ox.Variant(empty_mean=math.nan))


# ------------------------------------------------------------------ jax (XLA)


def xla_kernel(backend: str, g: Gathered) -> Scalar | None:
    """The jitted optax loss as XLA computes it (xla_models), or None where the elementary
    functions' bounded last bits decide the output."""
    return xm.xla_value(g)


def xla_without_ftz(backend: str, g: Gathered) -> xm.Outcomes | None:
    """Every output of the same computation with subnormals kept (no FTZ/DAZ)."""
    return xm.xla_outcomes(g, xm.Variant(ftz=False))


def xla_nan_label_read(backend: str, g: Gathered) -> xm.Outcomes | None:
    """The target gradient reading its label: NaN for a NaN label."""
    return xm.xla_outcomes(g, xm.Variant(nan_label_propagates=True))


def xla_exact_target_gradient(backend: str, g: Gathered) -> Scalar | None:
    return xm.exact_target_gradient(g)


def xla_exact_input_gradient(backend: str, g: Gathered) -> Scalar | None:
    return xm.exact_input_gradient(g)


def xla_zero_label_term_vanishes(backend: str, g: Gathered) -> xm.Outcomes | None:
    """Every output of the same computation where a zero label (or 1 - label) times an infinite
    log-sigmoid is 0, the term's limit."""
    return xm.xla_outcomes(g, xm.Variant(zero_times_inf=0.0))


def xla_in_promoted_dtype(backend: str, g: Gathered) -> xm.Outcomes | None:
    return xm.in_promoted_dtype(g)


def finite_logits_and_output(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite logits (what the target gradient reads) and a finite output."""
    return all(bool(np.isfinite(e.x)) for e in g.elements) and bool(np.isfinite(got))


def finite_labels_kept(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and output, and every label survives the cast to the logits' dtype."""
    return finite_in_and_out(g, got, ex) and not xm.labels_rounded(g)


def finite_labels_rounded(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and output, and some label changes when cast to the logits' dtype."""
    return finite_in_and_out(g, got, ex) and xm.labels_rounded(g)


def infinite_logit(g: Gathered, got: Scalar, ex: Any) -> bool:
    return any(bool(np.isinf(e.x)) for e in g.elements)


def finite_inputs(g: Gathered, got: Scalar, ex: Any) -> bool:
    return g.all_finite()


# ------------------------------------------------------------------ torch-compile (Inductor)


def inductor_kernel(backend: str, g: Gathered) -> Scalar | None:
    """The compiled loss or gradient as Inductor's kernels compute it (inductor_models), or None
    where the bounded last bits of exp and log1p decide the output."""
    return im.inductor_value(g)


def inductor_accurate_loss(backend: str, g: Gathered) -> im.Outcomes | None:
    """Every output of the same kernels with the loss element -x*y*p + lw*log1p(e^x) for x < 0
    (no cancelling terms), the same reduction."""
    return im.inductor_outcomes(g, im.Variant(loss="accurate"))


def inductor_wide_grad_input(backend: str, g: Gathered) -> im.Outcomes | None:
    return im.inductor_outcomes(g, im.Variant(grad_input="wide"))


def inductor_sigmoid_without_overflow(backend: str, g: Gathered) -> im.Outcomes | None:
    return im.inductor_outcomes(g, im.Variant(grad_input="no_overflow"))


def inductor_wide_grad_target(backend: str, g: Gathered) -> im.Outcomes | None:
    return im.inductor_outcomes(g, im.Variant(grad_target="wide"))


def inductor_bce_clamped_grad_input(backend: str, g: Gathered) -> im.Outcomes | None:
    """The same kernel with the derivative of the clamped loss, -y/x + (1 - y)/(1 - x) (a term
    0 where its log is at the -100 floor), for the quotient with the 1e-12 floor."""
    return im.inductor_outcomes(g, im.Variant(bce_grad_input="clamped"))


def inductor_bce_clamped_grad_target(backend: str, g: Gathered) -> im.Outcomes | None:
    """The same kernel with the loss's clamped logs, max(log1p(-x), -100) - max(log x, -100),
    for -logit(x)."""
    return im.inductor_outcomes(g, im.Variant(bce_grad_target="clamped"))


def inductor_count_in_float32(backend: str, g: Gathered) -> im.Outcomes | None:
    """The same kernel with a mean gradient divided by float(N), the count never in float16."""
    return im.inductor_outcomes(g, im.Variant(count="float32"))


def inductor_float16_mean_over_65504(g: Gathered, got: Scalar, ex: Any) -> bool:
    """A float16 mean over more than 65504 elements (N converts to inf in float16)."""
    return g.dtype == "float16" and g.reduction == "mean" and g.numel > 65504


def inductor_sigmoid_exp_overflows(g: Gathered, got: Scalar, ex: Any) -> bool:
    """Finite inputs and exp(-x) overflows in x's dtype for some element."""
    return g.all_finite() and im.sigmoid_exp_overflows(g)


# ------------------------------------------------------------------ probes


def _case(ex: Any) -> Case | None:
    try:
        return Case.from_json(ex.case)
    except (CaseError, KeyError, TypeError, ValueError):
        return None


def target_outside_unit_interval(ex: Any) -> bool:
    """The input lies in [0, 1] and some target does not (NaN included)."""
    case = _case(ex)
    if case is None:
        return False
    x = case.input.astype(np.float64)
    y = case.target.astype(np.float64)
    inside = (y >= 0) & (y <= 1)
    return bool(np.all((x >= 0) & (x <= 1)) and not np.all(inside))


def probability_or_target_outside_unit_interval(ex: Any) -> bool:
    """Some input or target lies outside [0, 1] (NaN included)."""
    case = _case(ex)
    if case is None:
        return False
    x = case.input.astype(np.float64)
    y = case.target.astype(np.float64)
    return not (np.all((x >= 0) & (x <= 1)) and np.all((y >= 0) & (y <= 1)))


def weight_grows_loss(ex: Any) -> bool:
    """The weight does not broadcast to the loss's shape without growing it."""
    case = _case(ex)
    if case is None or case.weight is None:
        return False
    try:
        loss = np.broadcast_shapes(case.input.shape, case.target.shape)
    except ValueError:
        return False
    try:
        return np.broadcast_shapes(loss, case.weight.shape) != loss
    except ValueError:
        return True


def pos_weight_off_target_shape(ex: Any) -> bool:
    """The pos_weight does not broadcast to the target's shape without growing it."""
    case = _case(ex)
    if case is None or case.pos_weight is None:
        return False
    try:
        return np.broadcast_shapes(case.target.shape, case.pos_weight.shape) != case.target.shape
    except ValueError:
        return True


def result_in_target_dtype(ex: Any) -> bool:
    """A mixed-dtype case whose result (recorded as ``dtype[shape]``) has the target's dtype,
    which is neither the promoted dtype nor the input's."""
    case = _case(ex)
    if case is None or not case.argument_dtypes:
        return False
    returned = (ex.got or "").split("[", 1)[0].strip()
    target = argument_dtype(case, "target")
    return returned == target and target not in (result_dtype(case), case.dtype)


def target_shape_differs(ex: Any) -> bool:
    """The target's shape differs from the input's (and the two broadcast)."""
    case = _case(ex)
    if case is None or case.target.shape == case.input.shape:
        return False
    try:
        np.broadcast_shapes(case.input.shape, case.target.shape)
    except ValueError:
        return False
    return True


def _all_scalars(case: Case) -> bool:
    return all(a.ndim == 0 for a in case.arrays.values())


def scalars_give_one_element(ex: Any) -> bool:
    """Every argument is 0-d, the reduction is 'none', and the result has shape (1,)."""
    case = _case(ex)
    if case is None or not _all_scalars(case) or case.effective_reduction != "none":
        return False
    return (ex.got or "").strip().endswith("[1]")


def float64_scalars_give_float32(ex: Any) -> bool:
    """Every argument is a 0-d float64 and the result is float32."""
    case = _case(ex)
    if case is None or not _all_scalars(case) or case.argument_dtypes:
        return False
    return case.dtype == "float64" and (ex.got or "").strip().startswith("float32")


# ------------------------------------------------------------------ the registry

S = k.SOURCES
TORCH_FILES = (
    "aten/src/ATen/native/Loss.cpp, torch/csrc/autograd/FunctionsManual.cpp, "
    "aten/src/ATen/native/cpu/Activation.cpp (the loss and gradient kernels)"
)
PADDLE_FILES = (
    "paddle/phi/kernels/cpu/bce_loss*_kernel.cc, "
    "paddle/phi/kernels/cpu/sigmoid_cross_entropy_with_logits*_kernel.cc"
)
TF_FILES = (
    "tensorflow/python/ops/nn_impl.py (sigmoid/weighted_cross_entropy_with_logits), "
    "keras/src/backend/tensorflow/nn.py (binary_crossentropy), "
    "tensorflow/python/ops/math_grad.py (their gradients)"
)

CAUSES: tuple[Cause, ...] = (
    Cause(
        id="tf-denormals-flushed",
        mechanism=(
            "TensorFlow runs its CPU kernels with denormals flushed (FTZ/DAZ): a float32, "
            "float64 or bfloat16 subnormal input is read as 0 and a subnormal intermediate or "
            "result is written as 0 (e.g. the loss log1p(exp(-89)) = 2.2e-39 comes out 0, a "
            "subnormal logit is a logit of 0)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["tf_denormals"]},
        condition=tf_denormal_flushed,
        formula=kernel,
        repaired=tf_denormals_kept,
        repaired_text="the same kernels with IEEE subnormals",
    ),
    Cause(
        id="keras-clip-upper-bound-rounds-to-one",
        mechanism=(
            "Keras clips the probability to [1e-7, 1 - 1e-7], but 1 - 1e-7 rounds to 1 in "
            "float16 and bfloat16: x = 1 is not clipped and log(1 - x) = log(0) = -inf makes "
            "the loss inf (NaN for y = 1, 0*-inf), the target gradient infinite and the input "
            "gradient inf or NaN"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce"]},
        functions=(BCE,),
        condition=keras_upper_bound_is_one,
        formula=kernel,
        repaired=keras_upper_bound_below_one,
        repaired_text="the upper bound the largest number below 1 of the dtype",
    ),
    Cause(
        id="keras-probability-clip-epsilon",
        mechanism=(
            "Keras' binary_crossentropy clips the probability to [1e-7, 1 - 1e-7] (the dtype's "
            "rounding of them) before taking logs, instead of clamping each log at -100: "
            "below 1e-7 or above 1 - 1e-7 the loss and the target gradient are those of the "
            "bound (e.g. -log(1e-7) = 16.1 where the documented loss is 100)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce"]},
        functions=(BCE,),
        quantities=("value", "grad_target"),
        condition=keras_clip_active,
        formula=kernel,
        repaired=keras_unclipped,
        repaired_text="no clip; each log clamped at -100",
    ),
    Cause(
        id="keras-clip-zero-gradient",
        mechanism=(
            "clip_by_value's gradient (Minimum's and Maximum's) is 0 outside [1e-7, 1 - 1e-7]: "
            "where Keras clips the probability the input gradient is 0, although the loss "
            "depends on x there (-y/x at x = 1e-30)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce_grad"]},
        functions=(BCE,),
        quantities=("grad_input",),
        condition=keras_clip_active,
        formula=kernel,
        repaired=keras_unclipped,
        repaired_text="the derivative of the loss without the clip, logs clamped at -100",
    ),
    Cause(
        id="keras-bce-log-one-minus-x",
        mechanism=(
            "Keras' binary_crossentropy takes log(1 - o) of the rounded 1 - o instead of "
            "log1p(-o): for a small probability 1 - o rounds (to 1 below the unit roundoff) "
            "and the term (1 - y)*o of the loss and of the target gradient loses its digits"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce"]},
        functions=(BCE,),
        quantities=("value", "grad_target"),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=keras_log1p,
        repaired_text="log1p(-o)",
    ),
    Cause(
        id="tf-mean-grad-count-overflows-float16",
        mechanism=(
            "reduce_mean's registered gradient divides the upstream gradient by N converted to "
            "the dtype; float16 cannot hold N > 65504, which becomes inf, so every input and "
            "target gradient of a float16 mean over more elements is 0 (or NaN: 0*inf)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={
            "tensorflow": "tensorflow/python/ops/math_grad.py (_MeanGrad: truediv(sum_grad, "
            "cast(factor, sum_grad.dtype)))"
        },
        quantities=("grad_input", "grad_target", "grad_pos_weight"),
        condition=float16_mean_over_65504,
        formula=kernel,
        repaired=tf_mean_count_in_float32,
        repaired_text="1/N formed in float32, then rounded to float16",
    ),
    Cause(
        id="keras-log-grad-reciprocal-overflows-float16",
        mechanism=(
            "Log's registered gradient is grad * reciprocal(x): in float16 1/o overflows for "
            "a clipped probability below 1/65504 (the clip's 1e-7 included), so the input "
            "gradient is inf, or NaN where it multiplies a zero (y = 0)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce_grad"]},
        functions=(BCE,),
        quantities=("grad_input",),
        condition=keras_reciprocal_overflows,
        formula=kernel,
        repaired=keras_divided,
        repaired_text="grad / x for Log's gradient",
    ),
    Cause(
        id="keras-bce-grad-input-log-terms-cancel",
        mechanism=(
            "the tape's input gradient of Keras' loss is the sum of the two logs' gradients, "
            "(-g*z)*(1/o) + (g*(1 - z))*(1/(1 - o)), each rounded: near o = z, where the "
            "derivative (o - z)/(o(1 - o)) is small, they cancel (a nonzero result at o = z)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce_grad"]},
        functions=(BCE,),
        quantities=("grad_input",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=keras_wide_grad_input,
        repaired_text="g*(x - z)/(x(1 - x)) from a 320-bit evaluation, rounded once",
    ),
    Cause(
        id="keras-bce-target-gradient-log-difference",
        mechanism=(
            "the target gradient of Keras' loss is g*(log(1 - o) - log(o)), a difference of "
            "two rounded logs: near o = 1/2 they cancel and the small result keeps few digits"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce_grad"]},
        functions=(BCE,),
        quantities=("grad_target",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=keras_wide_grad_target,
        repaired_text="g*(log(1 - o) - log o) from a 320-bit evaluation, rounded once",
    ),
    Cause(
        id="tf-weighted-logits-grad-abs-kink-at-zero",
        mechanism=(
            "weighted_cross_entropy_with_logits writes softplus(-x) as "
            "log1p(exp(-abs(x))) + relu(-x); at x = 0 the registered gradients of Abs "
            "(grad*sign(0) = 0) and Relu (0 at 0) both vanish, so the input gradient is "
            "1 - y instead of (1 - y) - lw/2 (lw = 1 + (p - 1)*y)"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["tf_weighted_logits"] + "; " + S["tf_grads"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=zero_logit_with_pos_weight,
        formula=kernel,
        repaired=tf_one_sided_abs,
        repaired_text="Abs's derivative 1 at x = 0",
    ),
    Cause(
        id="tf-logits-loss-cancellation",
        mechanism=(
            "the with-logits loss adds rounded terms that cancel: relu(x) - x*z for x > 0 with "
            "z near 1, and with pos_weight (1 - z)*x + lw*relu(-x) for x < 0 with z near 0, "
            "so a loss near e^-|x| keeps few or no correct digits"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["tf_logits"] + "; " + S["tf_weighted_logits"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=tf_accurate_logits_loss,
        repaired_text="-x*y*p + lw*log1p(e^x) for x < 0, (1 - y)*x + lw*log1p(e^-x) else",
    ),
    Cause(
        id="tf-logits-grad-input-cancellation",
        mechanism=(
            "the tape sums the input gradient from the graph's rounded contributions, "
            "(g - g*z) - g*e^-x/(1 + e^-x) (x >= 0) or -g*z + g*e^x/(1 + e^x), with pos_weight "
            "(g*(1 - z) - g*lw) + g*lw*e^x/(1 + e^x): where the derivative is small against "
            "them (sigmoid(x) near z) they cancel and few digits are left"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["tf_grads"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=tf_wide_logits_grad_input,
        repaired_text="the derivative from a 320-bit evaluation, rounded once, times g",
    ),
    Cause(
        id="tf-logits-target-gradient-cancellation",
        mechanism=(
            "with pos_weight the target gradient is -(g*x) + (g*S)*(p - 1), S = "
            "log1p(exp(-|x|)) + relu(-x) rounded, and the pos_weight gradient (g*S)*z: for "
            "x < 0, S = -x + log1p(e^x) and the two terms cancel to a small result (exactly "
            "-x for p = 1), which keeps few digits"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": S["tf_weighted_logits"] + "; " + S["tf_grads"]},
        functions=(LOGITS,),
        quantities=("grad_target", "grad_pos_weight"),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=tf_wide_logits_grad_target,
        repaired_text="the derivative from a 320-bit evaluation, rounded once, times g",
    ),
    Cause(
        id="ort-mlas-logistic-clamped",
        mechanism=(
            "ONNX Runtime's float32 Sigmoid (float16 runs in float32) is MLAS's rational "
            "approximation 0.5 + p(x)/q(x) with x clamped to [-18, 18] and the result to "
            "[0, 1]: it is 0 for x <= -18 (and at scattered x from -16 down), and below "
            "x = -10 a multiple of 2**-25 a few multiples off, so log(Sigmoid(x)) is -inf (an "
            "infinite loss, NaN times a zero y, w or p) or keeps few digits where the "
            "logistic e^x is representable"
        ),
        tier="defect",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["sigmoid_float"] + "; " + ox.SOURCES["float16"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=ort_float32_sigmoid_inexact,
        formula=kernel,
        repaired=ort_exact_sigmoid,
        repaired_text="Sigmoid the correctly rounded logistic",
    ),
    Cause(
        id="ort-sigmoid-double-one-minus-cancels",
        mechanism=(
            "ONNX Runtime's float64 Sigmoid takes 1 - 1/(1 + exp(x)) for x < 0: the "
            "subtraction cancels, leaving e^x with few digits and 0 for x < -36.7 (where e^x "
            "is still 1e-16), so log(Sigmoid(x)) is -inf: an infinite loss, or NaN times a "
            "zero y, w or p"
        ),
        tier="defect",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["sigmoid_double"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=ort_float64_sigmoid_cancels,
        formula=kernel,
        repaired=ort_exact_sigmoid,
        repaired_text="Sigmoid the correctly rounded logistic",
    ),
    Cause(
        id="onnx-export-log-one-minus-sigmoid",
        mechanism=(
            "torch.onnx.export writes the loss as -w[p*y*log(Sigmoid(x)) + (1 - y)*"
            "log(1 - Sigmoid(x))], not with log_sigmoid: 1 - Sigmoid(x) cancels for x > 0 and "
            "is 0 once Sigmoid(x) is 1 (x >= 18, and scattered x from 16, in float32; "
            "x > 36.7 in float64), and "
            "Sigmoid(x) is 0 far below 0, so a log is -inf: the loss is infinite, or NaN "
            "where a zero (1 - y, y, w, p) multiplies it, or -inf for a target outside [0, 1]"
        ),
        tier="defect",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["graph"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=all_finite,
        formula=kernel,
        repaired=ort_log_sigmoid_graph,
        repaired_text="log_sigmoid(x) and log_sigmoid(-x) for the two logs, correctly rounded",
    ),
    Cause(
        id="onnx-reduce-mean-empty-is-zero",
        mechanism=(
            "the exported mean is ONNX ReduceMean, whose result over an empty tensor ONNX "
            "leaves undefined; ONNX Runtime returns 0 where the mean of no elements is "
            "0/0 = NaN (torch returns NaN)"
        ),
        tier="defect",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["reduce"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=empty_mean,
        formula=kernel,
        repaired=ort_empty_mean_nan,
        repaired_text="ReduceMean over nothing = 0/0 = NaN",
    ),
    Cause(
        id="paddle-ignore-index",
        mechanism=(
            "the with-logits kernel skips every element whose label truncates to its "
            "ignore_index attribute, -100 (static_cast<int>(label) == -100, so any target in "
            "(-101, -100]): loss and gradients 0; the Python API neither documents nor exposes "
            "ignore_index"
        ),
        tier="out-of-contract",
        backends=("paddle",),
        source={"paddle": S["paddle_logits"] + " (ignore_index)"},
        functions=(LOGITS,),
        condition=paddle_ignored_label,
        formula=kernel,
        repaired=paddle_without_ignore_index,
        repaired_text="the kernel without the ignore_index test",
    ),
    Cause(
        id="target-gradient-ignores-nan-target",
        mechanism=(
            "the target gradient log_sigmoid(-x) - p*log_sigmoid(x) (or -x without pos_weight) "
            "never reads the target, so a NaN target gets a finite gradient; the documented "
            "loss is undefined (NaN) at a NaN target"
        ),
        tier="convention",
        backends=("torch", "torch-compile"),
        source={"torch": S["torch_logits_target"], "torch-compile": im.SOURCES["backward"]},
        functions=(LOGITS,),
        quantities=("grad_target",),
        condition=nan_target,
        formula=kernel,
    ),
    Cause(
        id="weight-gradient-ignores-nan-weight",
        mechanism=(
            "the weight gradient is the unweighted loss (the multiply's gradient), which never "
            "reads the weight, so a NaN weight gets a finite gradient; the documented loss is "
            "NaN there"
        ),
        tier="convention",
        backends=("paddle",),
        source={"paddle": "paddle multiply_grad (d weight = d out * unweighted loss)"},
        quantities=("grad_weight",),
        condition=nan_weight,
        formula=kernel,
    ),
    Cause(
        id="logits-grad-input-zero-branch",
        mechanism=(
            "the with-logits backward without pos_weight takes term1 = (x > 0) but "
            "abs_grad = (x >= 0), so at x = 0 exactly it returns sigmoid(0) - y - 1 "
            "(-0.5 - y instead of 0.5 - y); with pos_weight the other branch is right"
        ),
        tier="defect",
        backends=("paddle",),
        source={"paddle": S["paddle_logits_grad"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=zero_logit_without_pos_weight,
        formula=kernel,
        repaired=repaired_paddle_zero_branch,
        repaired_text="term1 = (x >= 0)",
    ),
    Cause(
        id="bce-backward-epsilon-flushed-in-float16",
        mechanism=(
            "the BCE backward divides by max(x(1 - x), EPSILON) with EPSILON = 1e-12, which "
            "float16 flushes to 0 (and whose reciprocal 1e12 it cannot hold): where x(1 - x) "
            "rounds to 0 the quotient is +-inf, or NaN for x = y (bfloat16 keeps 1e-12)"
        ),
        tier="defect",
        backends=("torch",),
        source={"torch": S["torch_bce_backward"]},
        functions=(BCE,),
        quantities=("grad_input",),
        condition=float16_epsilon_flushed,
        formula=kernel,
        repaired=repaired_bce_backward,
        repaired_text="the derivative of the clamped loss",
    ),
    Cause(
        id="bce-backward-epsilon-floor",
        mechanism=(
            "the BCE backward computes w(x - y)/max(x(1 - x), 1e-12): it ignores the -100 "
            "clamp (whose derivative is 0) and the floor replaces the derivative wherever "
            "x(1 - x) < 1e-12 (e.g. -1e12 at x = 0, y = 1, where the derivative is 0)"
        ),
        tier="defect",
        backends=("torch", "paddle"),
        source={"torch": S["torch_bce_backward"], "paddle": S["paddle_bce_grad"]},
        functions=(BCE,),
        quantities=("grad_input",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=repaired_bce_backward,
        repaired_text="the derivative of the clamped loss",
    ),
    Cause(
        id="bce-target-gradient-neg-logit",
        mechanism=(
            "the BCE target gradient is -logit(x)*w = (log(1 - x) - log x)*w without the "
            "loss's -100 clamp: +-inf at x = 0 or 1, and e.g. 102.3 instead of 100 where the "
            "clamp is active"
        ),
        tier="defect",
        backends=("torch",),
        source={"torch": S["torch_bce_target"]},
        functions=(BCE,),
        quantities=("grad_target",),
        condition=all_finite,
        formula=kernel,
        repaired=repaired_bce_target_gradient,
        repaired_text="the clamped logs max(log1p(-x), -100) - max(log x, -100)",
    ),
    Cause(
        id="inductor-bce-backward-epsilon-floor",
        mechanism=(
            "the compiled BCE backward (the decomposition of binary_cross_entropy_backward) "
            "computes go*(x - y)/max(x(1 - x), 1e-12) in float32 or float64 (for float16 and "
            "bfloat16 too, in float32): it ignores the -100 clamp and the floor replaces the "
            "derivative wherever x(1 - x) < 1e-12 (-1e12 at x = 0, y = 1, where the "
            "derivative is 0; -inf in float16, whose store cannot hold 1e12)"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["bce_backward"] + "; " + im.SOURCES["codegen"]},
        functions=(BCE,),
        quantities=("grad_input",),
        condition=finite_inputs,
        formula=inductor_kernel,
        repaired=inductor_bce_clamped_grad_input,
        repaired_text="the derivative of the clamped loss, the same epilogue",
    ),
    Cause(
        id="inductor-bce-target-gradient-unclamped-logit",
        mechanism=(
            "the compiled BCE target gradient is -logit(x)*go*w = -log(x/(1 - x))*go*w "
            "(Sleef's log) without the loss's -100 clamp, as in eager torch: +-inf at x = 0 "
            "or 1 (NaN with a zero weight, or for a float16 mean over more than 65504 elements, "
            "whose count the kernel converts to float16 inf), and e.g. 103.3 instead of 100 "
            "at x = 1e-45"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["bce_target"] + "; " + im.SOURCES["codegen"]},
        functions=(BCE,),
        quantities=("grad_target",),
        condition=finite_inputs,
        formula=inductor_kernel,
        repaired=inductor_bce_clamped_grad_target,
        repaired_text="the clamped logs max(log1p(-x), -100) - max(log x, -100)",
    ),
    Cause(
        id="logits-loss-log-sigmoid-cancellation",
        mechanism=(
            "the with-logits loss is (1 - y)*x - log_sigmoid(x)*((p - 1)*y + 1): for x < 0 "
            "with y near 0 the two terms are large and cancel, so a loss near e^x keeps few "
            "or no correct digits (0 once e^x is below the unit roundoff)"
        ),
        tier="defect",
        backends=("torch",),
        source={"torch": S["torch_logits"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=repaired_logits_loss,
        repaired_text="-x*y*p + lw*log1p(e^x) for x < 0",
    ),
    Cause(
        id="logits-loss-log-without-log1p",
        mechanism=(
            "the with-logits loss takes log(1 + exp(-|x|)) (with pos_weight "
            "log(exp(-m) + exp(-x - m)) + m, m = max(-x, 0), added to (1 - y)*x) without "
            "log1p: the term loses its digits once e^-|x| nears the unit roundoff and "
            "vanishes below it, and with pos_weight (1 - y)*x and m cancel for x < 0"
        ),
        tier="defect",
        backends=("paddle",),
        source={"paddle": S["paddle_logits"]},
        functions=(LOGITS,),
        quantities=("value", "grad_weight"),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=repaired_logits_loss,
        repaired_text="log1p(e^-|x|) and no cancelling (1 - y)*x + m",
    ),
    Cause(
        id="sigmoid-exp-overflow",
        mechanism=(
            "sigmoid(x) is computed as 1/(1 + exp(-x)): below x = -88.7 (in float32) exp(-x) "
            "overflows and sigmoid(x) comes out 0, so the input gradient sigmoid(x) - y is 0 "
            "where e^x is still representable"
        ),
        tier="defect",
        backends=("torch",),
        source={
            "torch": S["torch_logits_backward"] + "; aten/src/ATen/native/cpu/"
            "UnaryOpsKernel.cpp (sigmoid)"
        },
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=sigmoid_exp_overflows,
        formula=kernel,
        repaired=repaired_sigmoid_overflow,
        repaired_text="sigmoid(x) = e^x/(1 + e^x) for x < 0",
    ),
    Cause(
        id="logits-grad-input-sigmoid-minus-target",
        mechanism=(
            "the with-logits input gradient is sigmoid(x) - y (with pos_weight "
            "(p*y + 1 - y)*sigmoid(x) - p*y) with sigmoid(x) rounded first: where the "
            "derivative is much smaller than sigmoid(x) (x >> 0 with y = 1) only the rounding "
            "error of sigmoid(x) is left"
        ),
        tier="defect",
        backends=("torch",),
        source={"torch": S["torch_logits_backward"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=repaired_logits_grad_input,
        repaired_text="the same difference rounded once, from a 320-bit evaluation",
    ),
    Cause(
        id="logits-grad-input-cancellation",
        mechanism=(
            "the with-logits backward forms the derivative as a difference of rounded terms, "
            "(x > 0) - y - e^-|x|/(1 + e^-|x|), or with pos_weight "
            "log_weight*(sigmoid(x) - 1) + (1 - y): where the derivative is small (x < 0 "
            "with y = 0, sigmoid(x) near y) they cancel and few digits are left"
        ),
        tier="defect",
        backends=("paddle",),
        source={"paddle": S["paddle_logits_grad"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=repaired_logits_grad_input,
        repaired_text="the same difference rounded once, from a 320-bit evaluation",
    ),
    Cause(
        id="logits-target-gradient-log-sigmoid-difference",
        mechanism=(
            "with pos_weight the target gradient is log_sigmoid(-x) - p*log_sigmoid(x), two "
            "rounded terms that cancel (exactly -x for p = 1): small results, a subnormal -x "
            "in particular, come out 0"
        ),
        tier="defect",
        backends=("torch",),
        source={"torch": S["torch_logits_target"]},
        functions=(LOGITS,),
        quantities=("grad_target",),
        condition=target_unread_finite,
        formula=kernel,
        repaired=repaired_logits_grad_target,
        repaired_text="-x + (p - 1)*softplus(-x), rounded once",
    ),
    Cause(
        id="bce-log-one-minus-x",
        mechanism=(
            "the BCE loss takes log(1 - x) of the rounded 1 - x instead of log1p(-x): for x "
            "below the unit roundoff 1 - x rounds to 1 and the term (1 - y)*x of the loss (and "
            "of the weight gradient) is lost"
        ),
        tier="defect",
        backends=("paddle",),
        source={"paddle": S["paddle_bce"]},
        functions=(BCE,),
        quantities=("value", "grad_weight"),
        condition=finite_in_and_out,
        formula=kernel,
        repaired=repaired_paddle_bce,
        repaired_text="log1p(-x)",
    ),
    Cause(
        id="tf-reduced-precision-intermediates",
        mechanism=(
            "TensorFlow's loss is a graph of float16/bfloat16 ops (Eigen rounds each to the "
            "11- or 8-bit format, e.g. exp(-|x|) to a float16 subnormal): the roundings add "
            "up beyond one rounding of the result; the same graph in float32, rounded once, "
            "does not reproduce it"
        ),
        tier="defect",
        backends=("tensorflow",),
        source={"tensorflow": TF_FILES},
        condition=tf_reduced_finite,
        formula=kernel,
        repaired=tf_in("float32"),
        repaired_text="the same graph in float32 (the Keras clip bounds of the case's dtype), "
        "rounded once",
    ),
    Cause(
        id="mixed-dtypes-narrow-intermediates",
        mechanism=(
            "with mixed dtypes, part of the formula runs in the narrower argument's dtype "
            "(e.g. log_sigmoid(input) or the unweighted loss rounded to float32 or bfloat16) "
            "and only the last operations in the wider one, so the result, returned in the "
            "wider dtype, carries the narrow rounding error"
        ),
        tier="defect",
        backends=("torch", "paddle"),
        source={"torch": TORCH_FILES, "paddle": PADDLE_FILES},
        condition=mixed_finite,
        formula=kernel,
        repaired=kernel_in_promoted_dtype,
        repaired_text="the same formula with every argument in the promoted dtype",
    ),
    Cause(
        id="reduced-precision-intermediates",
        mechanism=(
            "the kernel is a chain of float16/bfloat16 operations (a composite of several "
            "ATen ops), each rounding its result to the 11- or 8-bit format: the roundings "
            "add up to an error beyond one rounding of the result; the same formula computed "
            "in float32 and rounded once is within tolerance"
        ),
        tier="defect",
        backends=("torch", "paddle"),
        source={"torch": TORCH_FILES, "paddle": PADDLE_FILES},
        condition=reduced_finite,
        formula=kernel,
        repaired=kernel_in("float32"),
        repaired_text="the same formula in float32, rounded once",
    ),
    Cause(
        id="float32-intermediates",
        mechanism=(
            "the kernel rounds each of its float32 operations (the formula, the weight's "
            "product, a mean's division): the roundings add up beyond the tolerance where the "
            "result is small against its terms; the same formula in float64, rounded once, is "
            "within it"
        ),
        tier="defect",
        backends=("torch", "paddle"),
        source={"torch": TORCH_FILES, "paddle": PADDLE_FILES},
        condition=float32_finite,
        formula=kernel,
        repaired=kernel_in("float64"),
        repaired_text="the same formula in float64, rounded once",
    ),
    Cause(
        id="ieee-special-values",
        mechanism=(
            "the kernel formula meets an infinite or NaN argument in IEEE arithmetic: 0*inf "
            "and inf - inf give NaN (or an exp gives inf) where the oracle takes the documented "
            "formula's limit or a zero weight's 0 (docs/semantics.md, special values)"
        ),
        tier="convention",
        backends=("torch", "paddle", "tensorflow", "onnxruntime", "torch-compile"),
        source={
            "torch": TORCH_FILES,
            "paddle": PADDLE_FILES,
            "tensorflow": TF_FILES,
            "onnxruntime": ox.SOURCES["graph"],
            "torch-compile": im.SOURCES["loss"] + "; " + im.SOURCES["backward"],
        },
        condition=any_nonfinite_input,
        formula=kernel,
    ),
    Cause(
        id="intermediate-overflow",
        mechanism=(
            "an intermediate overflows although the result is in range: (1 - y)*x near the "
            "largest finite x, a product with a large weight formed before a small factor, or "
            "a sum before the mean's division by N; inf - inf then gives NaN"
        ),
        tier="defect",
        backends=("torch", "paddle", "tensorflow", "torch-compile"),
        source={
            "torch": TORCH_FILES,
            "paddle": PADDLE_FILES,
            "tensorflow": TF_FILES,
            "torch-compile": im.SOURCES["loss"] + "; " + im.SOURCES["backward"],
        },
        condition=overflow,
        formula=kernel,
    ),
    Cause(
        id="target-range-unchecked",
        mechanism=(
            "binary_cross_entropy checks that the input lies in [0, 1] but not the target; the "
            "documentation requires target values between 0 and 1, so it should raise"
        ),
        tier="contract",
        backends=("paddle",),
        source={"paddle": S["paddle_bce"] + ": PADDLE_ENFORCE on x only"},
        functions=(BCE,),
        verdicts=("did_not_raise",),
        probe=target_outside_unit_interval,
        probe_text="the input lies in [0, 1] and a target does not",
    ),
    Cause(
        id="keras-probability-range-unchecked",
        mechanism=(
            "keras.ops.binary_crossentropy checks neither the probability nor the target: an "
            "input outside [0, 1] is clipped into [1e-7, 1 - 1e-7] and a target outside it "
            "enters the formula; the documentation requires both in [0, 1], so it should raise"
        ),
        tier="contract",
        backends=("tensorflow",),
        source={"tensorflow": S["keras_bce"] + ": no range check"},
        functions=(BCE,),
        verdicts=("did_not_raise",),
        probe=probability_or_target_outside_unit_interval,
        probe_text="an input or a target lies outside [0, 1]",
    ),
    Cause(
        id="weight-broadcast-grows-loss",
        mechanism=(
            "the weight is broadcast against the loss even when that grows the output (a (3,) "
            "loss with a (2, 3) weight gives shape (2, 3)); documented: the weight is repeated "
            "to the input's shape, so such a weight is a shape error"
        ),
        tier="contract",
        backends=("paddle", "onnxruntime", "torch-compile"),
        source={
            "torch-compile": im.SOURCES["loss"] + ": loss * weight out of place",
            "paddle": "python/paddle/nn/functional/loss.py (_C_ops.multiply(out, weight))",
            "onnxruntime": ox.SOURCES["graph"] + ": Mul(weight, loss) broadcasts both ways",
        },
        verdicts=("did_not_raise",),
        probe=weight_grows_loss,
        probe_text="the weight does not broadcast to the loss's shape without growing it",
    ),
    Cause(
        id="pos-weight-shape-unchecked",
        mechanism=(
            "a pos_weight that does not broadcast to the target's shape is accepted (its "
            "broadcast with the target grows the shape); documented: pos_weight is broadcast "
            "with the target, so such a shape is an error"
        ),
        tier="contract",
        backends=("paddle", "tensorflow", "onnxruntime", "torch-compile"),
        source={
            "torch-compile": im.SOURCES["loss"] + ": (pos_weight - 1) * target + 1 out of place",
            "paddle": "python/paddle/nn/functional/loss.py (log_weight from pos_weight)",
            "tensorflow": S["tf_weighted_logits"] + ": log_weight broadcasts pos_weight",
            "onnxruntime": ox.SOURCES["graph"] + ": Mul(y*log(Sigmoid(x)), pos_weight) "
            "broadcasts both ways",
        },
        functions=(LOGITS,),
        verdicts=("did_not_raise",),
        probe=pos_weight_off_target_shape,
        probe_text="the pos_weight does not broadcast to the target's shape without growing it",
    ),
    Cause(
        id="logits-loss-in-target-dtype",
        mechanism=(
            "the with-logits loss is built in place on 1 - target "
            "((1 - target).mul_(input).sub_(...)), so with mixed dtypes it takes the target's "
            "dtype: a float16 target gives a float16 loss for a float32 input, a float32 "
            "target a float32 loss for a float64 input (neither the promoted nor the input's)"
        ),
        tier="convention",
        backends=("torch",),
        source={"torch": S["torch_logits"]},
        functions=(LOGITS,),
        verdicts=("dtype_mismatch",),
        probe=result_in_target_dtype,
        probe_text="the result's dtype is the target's, neither the promoted nor the input's",
    ),
    Cause(
        id="onnx-export-target-shape-unchecked",
        mechanism=(
            "the exported graph has no shape check: Mul(target, log(Sigmoid(input))) "
            "broadcasts both ways, so a target of another shape than the input's (2 against "
            "1 element) gives a loss of the broadcast shape; documented: the target has the "
            "input's shape, so it is an error"
        ),
        tier="contract",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["graph"]},
        functions=(LOGITS,),
        verdicts=("did_not_raise",),
        probe=target_shape_differs,
        probe_text="the target's shape differs from the input's and the two broadcast",
    ),
    Cause(
        id="onnx-export-scalar-one-element-constant",
        mechanism=(
            "the exporter writes the 1 of 1 - Sigmoid(x) and 1 - y as a one-element tensor "
            "of shape (1,), so with 0-d arguments the unreduced loss has shape (1,), not ()"
        ),
        tier="contract",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["export_scalar"]},
        functions=(LOGITS,),
        verdicts=("shape_mismatch",),
        probe=scalars_give_one_element,
        probe_text="every argument is 0-d and the unreduced result has shape (1,)",
    ),
    Cause(
        id="onnx-export-scalar-float32-constant",
        mechanism=(
            "for 0-d float64 arguments the exporter writes the constant 1 as a float32 "
            "tensor of shape (1,); by torch's promotion rule a dimensioned tensor outranks "
            "0-d ones, so the graph casts the arguments to float32 and returns float32"
        ),
        tier="contract",
        backends=("onnxruntime",),
        source={"onnxruntime": ox.SOURCES["export_scalar"]},
        functions=(LOGITS,),
        verdicts=("dtype_mismatch",),
        probe=float64_scalars_give_float32,
        probe_text="every argument is a 0-d float64 and the result is float32",
    ),
    Cause(
        id="xla-denormals-flushed",
        mechanism=(
            "jax's CPU client runs XLA's kernels with denormals flushed (FTZ/DAZ): exp(x) "
            "below 2**-126 (x < -87.33) is 0 in float32 and bfloat16 (whose intermediates are "
            "float32), and any subnormal result is 0, so log1p(exp(-|x|)), the loss near "
            "|x| = 88 and the input gradient sigma(-x) vanish where their values are "
            "representable subnormals"
        ),
        tier="defect",
        backends=("jax",),
        source={"jax": xm.SOURCES["xla"]},
        functions=(LOGITS,),
        condition=finite_inputs,
        formula=xla_kernel,
        repaired=xla_without_ftz,
        repaired_text="the same kernels with subnormals kept",
    ),
    Cause(
        id="optax-target-gradient-ignores-nan-label",
        mechanism=(
            "the pullback of optax's loss with respect to the labels is "
            "c*(log_sigmoid(-x) - log_sigmoid(x)), which never reads the labels, so a NaN "
            "label gets a finite gradient; the documented loss is NaN at a NaN label"
        ),
        tier="convention",
        backends=("jax",),
        source={"jax": xm.SOURCES["loss"]},
        functions=(LOGITS,),
        quantities=("grad_target",),
        condition=nan_target,
        formula=xla_kernel,
        repaired=xla_nan_label_read,
        repaired_text="the gradient NaN where the label is NaN",
    ),
    Cause(
        id="optax-target-gradient-softplus-difference",
        mechanism=(
            "the label gradient is c*softplus(-x) - c*softplus(x), a difference of two rounded "
            "softplus values near log 2 that is -c*x in real arithmetic: for small |x| the "
            "digits of x below the ulp of log 2 are lost (0 where |x| is under half that ulp), "
            "and in float32/float64 the fused multiply-subtract leaves the rounding error of "
            "c*softplus(x) in place of the difference"
        ),
        tier="defect",
        backends=("jax",),
        source={"jax": xm.SOURCES["loss"] + "; " + xm.SOURCES["softplus"]},
        functions=(LOGITS,),
        quantities=("grad_target",),
        condition=finite_logits_and_output,
        formula=xla_kernel,
        repaired=xla_exact_target_gradient,
        repaired_text="-c*x rounded once",
    ),
    Cause(
        id="optax-input-gradient-sigmoid-cancellation",
        mechanism=(
            "logaddexp's custom JVP gives the input gradient as "
            "c*(1 - y)*exp(x - softplus(x)) - y*c*exp(-x - softplus(-x)): x - softplus(x) "
            "subtracts two rounded numbers near x for x > 0 (so sigma(x) keeps only the digits "
            "of log1p(e^-x) above the ulp of x), and the two products cancel where "
            "sigma(x) is near y"
        ),
        tier="defect",
        backends=("jax",),
        source={"jax": xm.SOURCES["softplus"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=finite_labels_kept,
        formula=xla_kernel,
        repaired=xla_exact_input_gradient,
        repaired_text="c*(sigma(x) - y) at 320 bits, rounded once",
    ),
    Cause(
        id="optax-infinite-logit-zero-times-inf",
        mechanism=(
            "at x = +inf, log_sigmoid(-x) is -inf and optax multiplies it by 1 - labels: a "
            "label of 1 gives 0 * -inf = NaN (and NaN in any reduction over it) where the "
            "loss's limit is 0; likewise labels * log_sigmoid(x) at x = -inf with label 0"
        ),
        tier="convention",
        backends=("jax",),
        source={"jax": xm.SOURCES["loss"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=infinite_logit,
        formula=xla_kernel,
        repaired=xla_zero_label_term_vanishes,
        repaired_text="a zero label times an infinite log-sigmoid taken as 0",
    ),
    Cause(
        id="optax-labels-cast-to-logits-dtype",
        mechanism=(
            "optax casts the labels to the logits' dtype before the loss "
            "(jnp.astype(labels, logits.dtype)): labels of a wider dtype are rounded "
            "(to 8 significant bits for bfloat16 logits), so the loss and the input gradient "
            "are those of other labels"
        ),
        tier="convention",
        backends=("jax",),
        source={"jax": xm.SOURCES["loss"]},
        functions=(LOGITS,),
        quantities=("value", "grad_input"),
        condition=finite_labels_rounded,
        formula=xla_kernel,
        repaired=xla_in_promoted_dtype,
        repaired_text="the same computation in the promoted dtype, the labels not rounded",
    ),
    Cause(
        id="optax-labels-broadcast-unchecked",
        mechanism=(
            "optax.sigmoid_binary_cross_entropy computes -labels*log_sigmoid(logits) - "
            "(1 - labels)*log_sigmoid(-logits) with jnp broadcasting and no shape check (its "
            "docstring warns of implicit broadcasting yet promises the logits' shape): "
            "labels of another shape (2 against 1 element) give a loss of the broadcast shape"
        ),
        tier="contract",
        backends=("jax",),
        source={"jax": "optax/losses/_classification.py (sigmoid_binary_cross_entropy)"},
        functions=(LOGITS,),
        verdicts=("did_not_raise",),
        probe=target_shape_differs,
        probe_text="the target's shape differs from the input's and the two broadcast",
    ),
    # torch-compile (Inductor): conformance.findings.inductor_models
    Cause(
        id="inductor-sigmoid-exp-overflow",
        mechanism=(
            "the compiled backward takes sigmoid(x) as 1/(1 + exp(-x)) (Sleef's exp): below "
            "x = -88.7 in float32 exp(-x) overflows, sigmoid(x) is 0 and the input gradient "
            "sigmoid(x) - y is 0 where e^x is still representable"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["backward"] + "; " + im.SOURCES["codegen"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=inductor_sigmoid_exp_overflows,
        formula=inductor_kernel,
        repaired=inductor_sigmoid_without_overflow,
        repaired_text="sigmoid(x) = e^x/(1 + e^x) for x < 0",
    ),
    Cause(
        id="inductor-logits-grad-input-sigmoid-minus-target",
        mechanism=(
            "the compiled backward forms the input gradient as sigmoid(x) - y (with pos_weight "
            "((p*y + 1) - y)*sigmoid(x) - p*y), sigmoid(x) rounded first, as eager torch does: "
            "where the derivative is much smaller than sigmoid(x) (x >> 0 with y near 1) only "
            "the rounding error of sigmoid(x) is left"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["backward"] + "; " + im.SOURCES["codegen"]},
        functions=(LOGITS,),
        quantities=("grad_input",),
        condition=finite_in_and_out,
        formula=inductor_kernel,
        repaired=inductor_wide_grad_input,
        repaired_text="the derivative at 320 bits, rounded once, then the same epilogue",
    ),
    Cause(
        id="inductor-logits-target-gradient-log-sigmoid-difference",
        mechanism=(
            "with pos_weight the compiled target gradient is log_sigmoid(-x) - "
            "log_sigmoid(x)*p, two rounded terms near log 2 that cancel (exactly -x for p = 1), "
            "as in eager torch: small results lose their digits"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["backward"] + "; " + im.SOURCES["codegen"]},
        functions=(LOGITS,),
        quantities=("grad_target",),
        condition=target_unread_finite,
        formula=inductor_kernel,
        repaired=inductor_wide_grad_target,
        repaired_text="-x + (p - 1)*softplus(-x) at 320 bits, rounded once",
    ),
    Cause(
        id="inductor-logits-loss-log-sigmoid-cancellation",
        mechanism=(
            "Inductor's decomposition computes the with-logits loss as eager's formula, "
            "(1 - y)*x - ((p - 1)*y + 1)*log_sigmoid(x): for x < 0 with y near 0 the two terms "
            "are large and cancel, so a loss near e^x keeps few or no correct digits (0 once "
            "e^x is below the unit roundoff of x)"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["loss"] + "; " + im.SOURCES["reduce"]},
        functions=(LOGITS,),
        quantities=("value",),
        condition=finite_in_and_out,
        formula=inductor_kernel,
        repaired=inductor_accurate_loss,
        repaired_text="-x*y*p + lw*log1p(e^x) for x < 0, the same reduction",
    ),
    Cause(
        id="inductor-mean-grad-count-overflows-float16",
        mechanism=(
            "the compiled backward of a float16 mean divides the gradient by the element count "
            "converted to float16 first (c10::convert<at::Half>(ks0), from the backward "
            "formula's div_(numel) on a float16 tensor): beyond 65504 elements the divisor is "
            "inf, so every gradient is 0 (NaN where the numerator is infinite)"
        ),
        tier="defect",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["backward"] + "; " + im.SOURCES["codegen"]},
        quantities=("grad_input", "grad_target"),
        condition=inductor_float16_mean_over_65504,
        formula=inductor_kernel,
        repaired=inductor_count_in_float32,
        repaired_text="the same kernel dividing by float(N)",
    ),
    Cause(
        id="inductor-bce-range-unchecked",
        mechanism=(
            "the decomposition of binary_cross_entropy leaves out eager's check that the input "
            "lies in [0, 1] (commented out: data-dependent control flow) and, like eager, never "
            "checks the target, so the compiled loss returns a value (NaN outside [0, 1] "
            "through the logs, or a number from an out-of-range target)"
        ),
        tier="contract",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["bce_loss"]},
        functions=(BCE,),
        verdicts=("did_not_raise",),
        probe=probability_or_target_outside_unit_interval,
        probe_text="some input or target lies outside [0, 1]",
    ),
    Cause(
        id="inductor-loss-cast-to-target-dtype",
        mechanism=(
            "the decomposition ends with loss.to(target.dtype) (to copy eager's in-place "
            "result dtype), so with mixed dtypes the loss has the target's dtype: a float16 "
            "target gives a float16 loss for a float32 input (neither the promoted nor the "
            "input's dtype)"
        ),
        tier="convention",
        backends=("torch-compile",),
        source={"torch-compile": im.SOURCES["loss"]},
        functions=(LOGITS,),
        verdicts=("dtype_mismatch",),
        probe=result_in_target_dtype,
        probe_text="the result's dtype is the target's, neither the promoted nor the input's",
    ),
)

BY_ID: dict[str, Cause] = {c.id: c for c in CAUSES}
UNEXPLAINED = "unexplained"
