"""Models of the frameworks' CPU kernels: each evaluates one recorded output the way the kernel
does, operation by operation in the backend's dtype (conformance.findings.arithmetic).

A model takes the ``Gathered`` elements of an example and returns the output a kernel with that
formula produces. The formulas are transcribed from the kernel sources named in ``SOURCES``;
whether a model is right is not taken on trust: a cause built on it is confirmed only when it
reproduces the backend's recorded outputs bit for bit (conformance.findings.attribution).

Conventions shared by the models: the upstream gradient is ones (``backward(ones_like(loss))``),
so ``grad * v`` is ``v`` exactly; a mean divides by the number of loss elements N.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from mpmath import mp

from conformance.findings.arithmetic import (
    REDUCED,
    Scalar,
    cmax,
    cmin,
    const,
    exp,
    log,
    log1p,
    opmath,
    same_bits,
    to,
)
from conformance.findings.elements import Element, Gathered
from conformance.findings.onnx_models import ort_logits_value

Model = Callable[[Gathered], Scalar | None]
REDUCED_TYPES = REDUCED

SOURCES = {
    "torch_bce": "aten/src/ATen/native/Loss.cpp (binary_cross_entropy_out_cpu)",
    "torch_bce_backward": "aten/src/ATen/native/Loss.cpp (binary_cross_entropy_backward_out_cpu)",
    "torch_bce_target": (
        "torch/csrc/autograd/FunctionsManual.cpp (binary_cross_entropy_target_backward: "
        "-logit(self)); aten/src/ATen/native/cpu/UnaryOpsKernel.cpp (logit)"
    ),
    "torch_logits": (
        "aten/src/ATen/native/Loss.cpp (binary_cross_entropy_with_logits: "
        "(1 - target) * input - log_sigmoid(input) * log_weight); "
        "aten/src/ATen/native/cpu/Activation.cpp (log_sigmoid)"
    ),
    "torch_logits_backward": (
        "torch/csrc/autograd/FunctionsManual.cpp (binary_cross_entropy_with_logits_backward)"
    ),
    "torch_logits_target": (
        "torch/csrc/autograd/FunctionsManual.cpp (binary_cross_entropy_with_logits_target_backward)"
    ),
    "paddle_bce": "paddle/phi/kernels/cpu/bce_loss_kernel.cc (BCELossKernel)",
    "paddle_bce_grad": "paddle/phi/kernels/cpu/bce_loss_grad_kernel.cc (BCELossGradKernel)",
    "paddle_logits": (
        "paddle/phi/kernels/cpu/sigmoid_cross_entropy_with_logits_kernel.cc; "
        "python/paddle/nn/functional/loss.py (log_weight = label * (pos_weight - 1) + 1)"
    ),
    "paddle_logits_grad": (
        "paddle/phi/kernels/cpu/sigmoid_cross_entropy_with_logits_grad_kernel.cc"
    ),
    "tf_logits": (
        "tensorflow/python/ops/nn_impl.py (sigmoid_cross_entropy_with_logits_v2: "
        "where(x >= 0, x, 0) - x * z + log1p(exp(where(x >= 0, -x, x))))"
    ),
    "tf_weighted_logits": (
        "tensorflow/python/ops/nn_impl.py (weighted_cross_entropy_with_logits_v2: "
        "(1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-abs(x))) + relu(-x)))"
    ),
    "tf_grads": (
        "tensorflow/python/ops/math_grad.py (_AbsGrad: grad * sign(x); _Log1pGrad, _ExpGrad, "
        "_MulGrad, _SubGrad, _SelectGradV2, _MeanGrad); tensorflow/python/ops/nn_grad.py "
        "(_ReluGrad: relu_grad, grad * (out > 0))"
    ),
    "tf_denormals": (
        "tsl/platform/denormal.h (port::ScopedFlushDenormal: FTZ and DAZ), held by "
        "TensorFlow's CPU compute threads (tsl/platform/threadpool.cc); measured on the "
        "tensorflow-cpu 2.21 wheel"
    ),
    "keras_bce": (
        "keras/src/backend/tensorflow/nn.py (binary_crossentropy: clip_by_value(output, "
        "epsilon, 1 - epsilon), epsilon = 1e-7; -(z * log(o) + (1 - z) * log(1 - o)))"
    ),
    "keras_bce_grad": (
        "keras/src/backend/tensorflow/nn.py (binary_crossentropy); "
        "tensorflow/python/ops/clip_ops.py (clip_by_value: minimum, then maximum); "
        "tensorflow/python/ops/math_grad.py (_MaximumMinimumGrad: where(x >= lo, grad, 0), "
        "_LogGrad: grad * reciprocal(x), _MulGrad, _SubGrad)"
    ),
}


def _one(v: Scalar) -> Scalar:
    return np.asarray(1, dtype=v.dtype)[()]


def _zero(v: Scalar) -> Scalar:
    return np.asarray(0, dtype=v.dtype)[()]


def _num(value: float, like: Scalar) -> Scalar:
    return np.asarray(value, dtype=like.dtype)[()]


def _in(v: Scalar, dtype: str) -> Scalar:
    return to(v, dtype)


def _in_place(target: Scalar, value: Scalar) -> Scalar:
    """``target.op_(other)``: computed in the operands' common dtype, stored in ``target``'s."""
    return _in(value, target.dtype.name)


# ------------------------------------------------------------------ reductions and scaling


def reduce(g: Gathered, per_element: Callable[[Element], Scalar]) -> Scalar:
    """A reduced loss: the elements summed in order (accumulating in float32 for the reduced
    types), then, for a mean, divided by N."""
    values = [per_element(e) for e in g.elements]
    if g.reduction == "none":
        return values[0]
    dtype = values[0].dtype.name  # the loss's dtype (a mixed-dtype loss may not have g.dtype)
    acc_dtype = opmath(dtype)
    with np.errstate(all="ignore"):
        total = _in(_zero(values[0]), acc_dtype)
        for v in values:
            total = total + _in(v, acc_dtype)
        if g.reduction == "mean":
            total = total / _num(g.numel, total)
    return _in(total, dtype)


def sum_contributions(g: Gathered, per_element: Callable[[Element], Scalar]) -> Scalar:
    """A gradient summed over broadcast axes (in order, accumulating in float32 for the reduced
    types); a single contribution as it is."""
    values = [per_element(e) for e in g.elements]
    if len(values) == 1:
        return values[0]
    acc_dtype = opmath(g.dtype)
    with np.errstate(all="ignore"):
        total = _in(_zero(values[0]), acc_dtype)
        for v in values:
            total = total + _in(v, acc_dtype)
    return _in(total, g.dtype)


def torch_scale(g: Gathered, e: Element, v: Scalar) -> Scalar:
    """torch's backward epilogue: ``grad_input.mul_(weight)``, then for a mean ``/ numel``."""
    with np.errstate(all="ignore"):
        if e.go is not None and GO_ORDER[0] == "first":
            v = _in_place(v, v * e.go)
        if e.w is not None:
            v = _in_place(v, v * e.w)
        if g.reduction == "mean":
            v = _divided_in_opmath(v, g.numel)
        if e.go is not None and GO_ORDER[0] == "last":
            v = _in_place(v, v * e.go)
    return v


def _divided_in_opmath(v: Scalar, n: int) -> Scalar:
    """``v / n`` as ``tensor.div_(n)`` does it: the integer n converted to the compute type
    (float32 for the reduced types, which cannot all hold n: float16 overflows at 65520), the
    quotient rounded back to ``v``'s dtype."""
    dtype = v.dtype.name
    wide = _in(v, opmath(dtype))
    with np.errstate(all="ignore"):
        return _in(wide / _num(n, wide), dtype)


GO_ORDER = ["first"]  # torch multiplies the upstream gradient in first (measured, bit for bit)


def paddle_dout(g: Gathered, like: Scalar, e: Element | None = None) -> Scalar:
    """paddle's upstream gradient of one loss element: the case's upstream gradient (ones when
    it has none), divided by N by mean_all for a mean."""
    base = e.go if e is not None and e.go is not None else _one(like)
    if g.reduction == "mean":
        with np.errstate(all="ignore"):
            return base / _num(g.numel, like)
    return base


# ------------------------------------------------------------------ torch


def torch_log_sigmoid(x: Scalar) -> Scalar:
    """``log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))``; the reduced types compute in float32
    and round once."""
    dtype = x.dtype.name
    a = _in(x, "float32") if dtype in REDUCED else x
    with np.errstate(all="ignore"):
        r = cmin(_zero(a), a) - log1p(exp(-abs(a)))
    return _in(r, dtype) if dtype in REDUCED else r


def torch_sigmoid(x: Scalar) -> Scalar:
    """``sigmoid(x) = 1 / (1 + exp(-x))``; the reduced types compute in float32, round once."""
    dtype = x.dtype.name
    a = _in(x, "float32") if dtype in REDUCED else x
    with np.errstate(all="ignore"):
        r = _one(a) / (_one(a) + exp(-a))
    return _in(r, dtype) if dtype in REDUCED else r


def _torch_log_weight(e: Element) -> Scalar | None:
    if e.p is None:
        return None
    with np.errstate(all="ignore"):
        return (e.p - _one(e.p)) * e.y + _one(e.p)


def torch_logits_element(e: Element) -> Scalar:
    """``loss = (1 - y).mul_(x).sub_(log_sigmoid(x).mul_((p - 1) * y + 1)).mul_(w)``: the
    in-place operations keep the dtype of ``1 - y``, so a mixed-dtype loss has the target's."""
    ls = torch_log_sigmoid(e.x)
    lw = _torch_log_weight(e)
    with np.errstate(all="ignore"):
        if lw is not None:
            ls = _in_place(ls, ls * lw)
        loss = _one(e.y) - e.y
        loss = _in_place(loss, loss * e.x)
        loss = _in_place(loss, loss - ls)
        if e.w is not None:
            loss = _in_place(loss, loss * e.w)
    return loss


def torch_logits_value(g: Gathered) -> Scalar:
    return reduce(g, torch_logits_element)


def torch_logits_grad_input(g: Gathered) -> Scalar:
    """``sigmoid(x) - y``, or with pos_weight ``(p*y + 1 - y) * sigmoid(x) - p*y``; then
    ``* w`` and ``/ N``."""

    def one(e: Element) -> Scalar:
        s = torch_sigmoid(e.x)
        with np.errstate(all="ignore"):
            if e.p is not None:
                t = e.p * e.y
                v = ((t + _one(t)) - e.y) * s - t
            else:
                v = s - e.y
        return torch_scale(g, e, v)

    return sum_contributions(g, one)


def torch_logits_grad_target(g: Gathered) -> Scalar:
    """``log_sigmoid(-x) - log_sigmoid(x) * p`` (with pos_weight) or ``-x``; then ``* w``, ``/ N``.
    The target does not enter."""

    def one(e: Element) -> Scalar:
        with np.errstate(all="ignore"):
            if e.p is not None:
                v = torch_log_sigmoid(-e.x) - torch_log_sigmoid(e.x) * e.p
            else:
                v = -e.x
        return torch_scale(g, e, v)

    return sum_contributions(g, one)


def torch_bce_element(e: Element) -> Scalar:
    """``((y - 1) * max(log1p(-x), -100) - y * max(log(x), -100)) * w``, rounding each step."""
    hundred = _num(-100, e.x)
    with np.errstate(all="ignore"):
        a = cmax(_elementary_via_float(log1p, -e.x), hundred)
        b = cmax(_elementary_via_float(log, e.x), hundred)
        loss = (e.y - _one(e.y)) * a - e.y * b
        if e.w is not None:
            loss = _in_place(loss, loss * e.w)  # loss.mul_(weight): the input's dtype
    return loss


def _elementary_via_float(fn: Callable[[Scalar], Scalar], v: Scalar) -> Scalar:
    """``std::fn`` on a c10::Half / BFloat16 argument: computed in float, cast back."""
    if v.dtype.name in REDUCED:
        return _in(fn(_in(v, "float32")), v.dtype.name)
    return fn(v)


def torch_bce_value(g: Gathered) -> Scalar:
    return reduce(g, torch_bce_element)


def bce_backward_quotient(e: Element, epsilon: Scalar | None = None) -> Scalar:
    """``(x - y) / max((1 - x) * x, EPSILON)``; EPSILON is 1e-12 rounded into the dtype unless
    given (torch declares it ``static const float``: float32's 1e-12, then the dtype's)."""
    eps = const(1e-12, e.x.dtype.name) if epsilon is None else epsilon
    with np.errstate(all="ignore"):
        return (e.x - e.y) / cmax((_one(e.x) - e.x) * e.x, eps)


def torch_epsilon(dtype: str) -> Scalar:
    """torch's ``EPSILON``: ``static const float EPSILON = 1e-12``, cast to the dtype."""
    return to(const(1e-12, "float32"), dtype)


def torch_bce_grad_input(g: Gathered) -> Scalar:
    """``grad * (x - y) / max((1 - x) * x, EPSILON)`` (the upstream gradient multiplies the
    numerator, before the division), then ``* w`` and ``/ N``."""
    eps = torch_epsilon(g.dtype)

    def one(e: Element) -> Scalar:
        with np.errstate(all="ignore"):
            numerator = e.x - e.y if e.go is None else e.go * (e.x - e.y)
            v = numerator / cmax((_one(e.x) - e.x) * e.x, eps)
        return torch_scale(g, replace(e, go=None), v)

    return sum_contributions(g, one)


def torch_logit(x: Scalar) -> Scalar:
    """``logit(x) = log(x / (1 - x))`` (inf at 1), rounding after each operation: the
    vectorized Half/BFloat16 operations convert to float and back one operation at a time."""
    with np.errstate(all="ignore"):
        if x == _one(x):
            return _num(np.inf, x)
        return _elementary_via_float(log, x / (_one(x) - x))


def torch_bce_grad_target(g: Gathered) -> Scalar:
    """``-logit(x)``, then ``* w`` and ``/ N``: the loss's -100 clamp does not enter."""
    return sum_contributions(g, lambda e: torch_scale(g, e, -torch_logit(e.x)))


# ------------------------------------------------------------------ paddle


def _paddle_log_weight(e: Element) -> Scalar | None:
    if e.p is None:
        return None
    with np.errstate(all="ignore"):
        return e.y * (e.p - _one(e.p)) + _one(e.p)


PADDLE_IGNORE_INDEX = -100  # the kernel's ignore_index attribute; the Python API leaves it


def paddle_ignored(y: Scalar) -> bool:
    """``static_cast<int>(label) == ignore_index``: a label in (-101, -100] is skipped (loss and
    gradient 0)."""
    v = float(y)
    return math.isfinite(v) and math.trunc(v) == PADDLE_IGNORE_INDEX


def paddle_logits_unweighted(e: Element, ignore_index: bool = True) -> Scalar:
    """Without pos_weight ``(max(x, 0) - x*y) + log(1 + exp(-|x|))``; with it (the Python layer
    passes ``log_weight``) ``(1 - y)*x + log_weight * (log(exp(-m) + exp(-x - m)) + m)``,
    ``m = max(-x, 0)``. Neither uses log1p. 0 for an ignored label (paddle_ignored)."""
    if ignore_index and paddle_ignored(e.y):
        return _zero(e.x)
    lw = _paddle_log_weight(e)
    x, y, one, zero = e.x, e.y, _one(e.x), _zero(e.x)
    with np.errstate(all="ignore"):
        if lw is None:
            term1 = x if x > 0 else zero
            term2 = x * y
            term3 = log(one + exp(-abs(x)))
            return (term1 - term2) + term3
        max_val = -x if x < 0 else zero
        term1 = (one - y) * x
        term2 = log(exp(-max_val) + exp(-x - max_val))
        return term1 + lw * (term2 + max_val)


def paddle_weighted(e: Element, v: Scalar) -> Scalar:
    if e.w is None:
        return v
    with np.errstate(all="ignore"):
        return v * e.w


def paddle_logits_value(g: Gathered, ignore_index: bool = True) -> Scalar:
    return reduce(g, lambda e: paddle_weighted(e, paddle_logits_unweighted(e, ignore_index)))


def paddle_logits_diff(e: Element, ignore_index: bool = True) -> Scalar:
    """The grad kernel's ``diff`` (see SOURCES["paddle_logits_grad"]), branch for branch; 0 for
    an ignored label."""
    if ignore_index and paddle_ignored(e.y):
        return _zero(e.x)
    lw = _paddle_log_weight(e)
    x, y, one, zero = e.x, e.y, _one(e.x), _zero(e.x)
    with np.errstate(all="ignore"):
        if lw is None:
            term1 = one if x > 0 else zero
            e_x = exp(-abs(x))
            down = one + e_x
            abs_grad = one if x >= 0 else -one
            up = -e_x * abs_grad
            term3 = up / down
            return (term1 - y) + term3
        max_val = -x if x < 0 else zero
        term1 = -one if x < 0 else zero
        down1 = exp(-max_val)
        down2 = exp(-x - max_val)
        term2 = down1 * (-term1) + down2 * (-one - term1)
        term3 = one - y
        return lw * (term2 / (down1 + down2) + term1) + term3


def paddle_grad_of_kernel(g: Gathered, e: Element, diff: Scalar) -> Scalar:
    """``dx = dout * diff`` where ``dout`` is ``1/N`` or 1, times ``w`` from the multiply."""
    dout = paddle_dout(g, diff, e)
    with np.errstate(all="ignore"):
        if e.w is not None:
            dout = dout * e.w
        return dout * diff


def paddle_logits_grad_input(g: Gathered, ignore_index: bool = True) -> Scalar:
    return sum_contributions(
        g, lambda e: paddle_grad_of_kernel(g, e, paddle_logits_diff(e, ignore_index))
    )


def paddle_logits_grad_weight(g: Gathered, ignore_index: bool = True) -> Scalar:
    """The multiply's weight gradient ``dout * loss``: it does not involve the weight."""

    def one(e: Element) -> Scalar:
        v = paddle_logits_unweighted(e, ignore_index)
        with np.errstate(all="ignore"):
            return paddle_dout(g, v, e) * v

    return sum_contributions(g, one)


def paddle_bce_unweighted(e: Element) -> Scalar:
    """``(y - 1) * max(log(1 - x), -100) - y * max(log(x), -100)``: log of the rounded 1 - x."""
    hundred = _num(-100, e.x)
    with np.errstate(all="ignore"):
        a = cmax(log(_one(e.x) - e.x), hundred)
        b = cmax(log(e.x), hundred)
        return (e.y - _one(e.y)) * a - e.y * b


def paddle_bce_value(g: Gathered) -> Scalar:
    return reduce(g, lambda e: paddle_weighted(e, paddle_bce_unweighted(e)))


def paddle_bce_grad_input(g: Gathered) -> Scalar:
    return sum_contributions(g, lambda e: paddle_grad_of_kernel(g, e, bce_backward_quotient(e)))


def paddle_bce_grad_weight(g: Gathered) -> Scalar:
    def one(e: Element) -> Scalar:
        v = paddle_bce_unweighted(e)
        with np.errstate(all="ignore"):
            return paddle_dout(g, v, e) * v

    return sum_contributions(g, one)


# ------------------------------------------------------------------ tensorflow (Eigen CPU kernels)
#
# TensorFlow's losses are Python compositions of elementwise ops, each an Eigen CPU kernel that
# rounds into the tensor's dtype (Eigen::half and bfloat16 operate in float and round after every
# operation; their exp, log, log1p are the float functions, rounded back). TensorFlow runs its
# CPU kernels with denormals flushed (port::ScopedFlushDenormal: FTZ and DAZ in MXCSR), so a
# float32, float64 or bfloat16 (computed in float32) subnormal, read or produced, is a signed
# zero; float16's subnormals are normal floats and survive the conversion back. Gradients are the
# registered gradient functions of those ops (SOURCES["tf_grads"]), applied by GradientTape in
# reverse; a tensor used by several ops gets the sum of its contributions (AddN, left to right in
# the order the models list them).
#
# Vector packets (the wheel's Eigen is built for AVX2: 8 float32, half or bfloat16 lanes, 4
# float64): an elementwise kernel over a tensor of at least one packet evaluates its whole packets
# with Eigen's own exp/log/log1p polynomials, not the libm functions. They are not reproduced but
# reproduced: the models take them correctly rounded there, though they differ from it in about
# 30% of float32/float64 arguments (measured on tf 2.21, 6,000 arguments each, normal results:
# float32 exp 1.08, log1p 2.80, log 2.19 ulp; float64 exp 1.13, log1p 1.88, log 1.39 ulp). A
# known gap in soundness until Eigen's polynomials (pexp, plog, generic_plog1p) are reproduced:
# bounding the values instead (every float within those bounds, where the tensor holds a packet
# or more) was tried and explained 666 instead of 751 deep classes, because Gathered does not
# record where in a packet an element lies. A full reduction (tf.reduce_sum, reduce_mean's sum) is
# Eigen's InnerMostDimReducer: see _tf_eigen_sum; it reproduced tf 2.21's bits on every one of
# 1,700 random float16/float32/float64/bfloat16 arrays of 2 to 1,000 elements. Larger tensors are
# split into halves (a tree over 1,024 packets) or across threads: not modelled (Undetermined).

TF_FLUSHED = ("float32", "float64", "bfloat16")
_TF_FLUSH = {"on": True, "events": 0}  # flushing on or off; subnormals flushed so far


def tf_flush(v: Scalar) -> Scalar:
    """FTZ/DAZ: a subnormal of float32, float64 or bfloat16 becomes a zero of its sign."""
    if v.dtype.name in TF_FLUSHED and v != 0 and abs(v) < np.finfo(v.dtype).tiny:
        if not _TF_FLUSH["on"]:
            return v
        _TF_FLUSH["events"] += 1
        return _zero(v) if v > 0 else -_zero(v)
    return v


def tf_evaluate(model: Model, g: Gathered, flush: bool = True) -> tuple[Scalar | None, int]:
    """A TensorFlow model's output with denormals flushed (TensorFlow's setting) or kept (the
    IEEE default), and how many subnormals it flushed on the way."""
    saved = dict(_TF_FLUSH)
    _TF_FLUSH.update(on=flush, events=0)
    try:
        out = model(g)
        return out, int(_TF_FLUSH["events"])
    finally:
        _TF_FLUSH.update(saved)


class NearMidpoint(ArithmeticError):
    """An elementary function value too close to a rounding midpoint to predict the libm's."""


class Undetermined(NearMidpoint):
    """The output depends on what the model does not reproduce (the split of a large
    reduction): like NearMidpoint, the model refuses (a subclass, so that whoever catches the
    one catches the other)."""


TF_LANES = {"float32": 8, "float16": 8, "bfloat16": 8, "float64": 4}  # AVX2 packet sizes
TF_MAX_FULL_REDUCTION = 1024  # elements: beyond, Eigen may split the sum (tree, threads)


LIBM_MARGIN = 0.02  # ulp: glibc's exp, log, log1p are within about 0.52 ulp, not correctly rounded


_LIBM = {"strict": False, "flips": 0, "seen": 0}  # see tf_kernel


def _libm(fn: Callable[[Scalar], Scalar], v: Scalar, final: str | None = None) -> Scalar:
    """``fn(v)`` (float32 or float64) as the C library computes it: correctly rounded, except
    that inside tf_kernel a value within LIBM_MARGIN ulp of a midpoint between two floats (where
    a libm accurate to about half an ulp may round either way: glibc's logf(1 - 2**-23) does)
    is counted as ambiguous, and taken as its other neighbour where tf_kernel flips it; both
    neighbours giving the same value in ``final`` (float16, bfloat16) is no ambiguity."""
    r = fn(v)
    if not _LIBM["strict"] or not np.isfinite(r) or r == 0 or not np.isfinite(v):
        return r
    with mp.workprec(320):
        exact = getattr(mp, fn.__name__)(mp.mpf(float(v)))
        if exact == mp.mpf(float(r)):
            return r
        toward = np.inf if exact > mp.mpf(float(r)) else -np.inf
        neighbour = np.nextafter(r, np.asarray(toward, dtype=r.dtype)[()])
        a, b = mp.mpf(float(r)), mp.mpf(float(neighbour))
        near = abs(exact - (a + b) / 2) < LIBM_MARGIN * abs(b - a)
    if not near or (final is not None and same_bits(_in(r, final), _in(neighbour, final))):
        return r
    i = _LIBM["seen"]
    _LIBM["seen"] = i + 1
    return neighbour if (_LIBM["flips"] >> i) & 1 else r


MAX_AMBIGUOUS = 4


def tf_kernel(model: Model) -> Model:
    """A TensorFlow model that answers only what it can predict: evaluated once with correctly
    rounded functions and again with every combination of the ambiguous near-midpoint values
    (_libm) rounded the other way; if the outputs differ, the libm's rounding decides and the
    model refuses (NearMidpoint)."""

    def run(g: Gathered) -> Scalar | None:
        saved = dict(_LIBM)
        try:
            _LIBM.update(strict=True, flips=0, seen=0)
            out = model(g)
            n = int(_LIBM["seen"])
            if n > MAX_AMBIGUOUS:
                raise NearMidpoint(f"{n} values near a rounding midpoint")
            for flips in range(1, 2**n):
                _LIBM.update(flips=flips, seen=0)
                other = model(g)
                if out is None or other is None or not same_bits(other, out):
                    raise NearMidpoint("the output depends on the libm's rounding")
            return out
        finally:
            _LIBM.update(saved)

    run.__doc__ = model.__doc__
    return run


def _tf_fn(fn: Callable[[Scalar], Scalar], v: Scalar) -> Scalar:
    """An Eigen elementary function on a flushed argument (the C library's, _libm), its result
    flushed: for Eigen::half and bfloat16 the float function, rounded back."""
    v = tf_flush(v)
    if v.dtype.name in REDUCED:
        return tf_flush(_in(_libm(fn, _in(v, "float32"), v.dtype.name), v.dtype.name))
    return tf_flush(_libm(fn, v))


def _add(a: Scalar, b: Scalar) -> Scalar:
    with np.errstate(all="ignore"):
        return tf_flush(a + b)


def _sub(a: Scalar, b: Scalar) -> Scalar:
    with np.errstate(all="ignore"):
        return tf_flush(a - b)


def _mul(a: Scalar, b: Scalar) -> Scalar:
    with np.errstate(all="ignore"):
        return tf_flush(a * b)


def _div(a: Scalar, b: Scalar) -> Scalar:
    with np.errstate(all="ignore"):
        return tf_flush(a / b)


def _tf_element(e: Element) -> Element:
    """The element as the flushed kernels read it (DAZ)."""

    def daz(v: Scalar | None) -> Scalar | None:
        return None if v is None else tf_flush(v)

    return Element(daz(e.x), daz(e.y), daz(e.w), daz(e.p), daz(e.go))


TF_MEAN_COUNT_IN_FLOAT32 = [False]  # the repaired _MeanGrad of a cause: N in float32


def tf_upstream(g: Gathered, e: Element) -> Scalar:
    """The upstream gradient of one loss element: the case's (or ones), through _SumGrad (a
    tile) or _MeanGrad (a tile, then ``truediv`` by N converted to the dtype: float16 cannot
    hold N > 65504, which becomes inf)."""
    base = e.go if e.go is not None else _one(e.x)
    if g.reduction != "mean":
        return base
    with np.errstate(all="ignore"):
        if TF_MEAN_COUNT_IN_FLOAT32[0]:
            return _in(_div(_in(base, "float32"), _num(g.numel, _in(base, "float32"))), g.dtype)
        return _div(base, _num(g.numel, base))


def _tf_eigen_sum(values: list[Scalar]) -> Scalar:
    """Eigen's InnerMostDimReducer (tf 2.21, AVX2) of ``values`` (already in the accumulation
    type): whole groups of four packets into four lane accumulators, folded into the first
    (acc0 + acc1, + acc2, + acc3); the remaining whole packets into it; the leftover elements
    added in order from 0; the result that sum plus the lanes' horizontal sum (a halving tree:
    lanes i and i + P/2, ...). Half lanes add in half, their horizontal sum is done in float32
    and rounded to half (Eigen's predux for Packet8h)."""
    dtype = values[0].dtype.name
    lanes = TF_LANES[dtype]
    n = len(values)
    zero = _zero(values[0])
    acc = [[zero] * lanes for _ in range(4)]

    def into(a: list[Scalar], b: list[Scalar]) -> list[Scalar]:
        return [_add(u, v) for u, v in zip(a, b)]

    start = 0
    if n >= 4 * lanes:
        stop = n // (4 * lanes) * 4 * lanes
        for j in range(0, stop, 4 * lanes):
            for a in range(4):
                acc[a] = into(acc[a], values[j + a * lanes : j + (a + 1) * lanes])
        for a in (1, 2, 3):
            acc[0] = into(acc[0], acc[a])
        start = stop
    if start <= n - lanes:
        stop = n // lanes * lanes
        for j in range(start, stop, lanes):
            acc[0] = into(acc[0], values[j : j + lanes])
        start = stop
    tail = zero
    for v in values[start:]:
        tail = _add(tail, v)
    tree = [_in(v, "float32") for v in acc[0]] if dtype == "float16" else acc[0]
    while len(tree) > 1:
        half = len(tree) // 2
        tree = [_add(tree[i], tree[i + half]) for i in range(half)]
    return _add(tail, tf_flush(_in(tree[0], dtype)))


def _tf_sequential_total(values: list[Scalar]) -> Scalar:
    """A sum in order from 0 (in float32 for bfloat16, in the dtype otherwise)."""
    dtype = values[0].dtype.name
    acc = "float32" if dtype == "bfloat16" else dtype
    total = _in(_zero(values[0]), acc)
    for v in values:
        total = _add(total, _in(v, acc))
    return tf_flush(_in(total, dtype))


def _tf_total(values: list[Scalar], divisor: int | None = None) -> Scalar:
    """Eigen's SumReducer over the whole tensor (_tf_eigen_sum; in float32 for bfloat16, in the
    dtype otherwise), then for a mean a division by N in the same type."""
    if len(values) > TF_MAX_FULL_REDUCTION:
        raise Undetermined("a large reduction: Eigen's split of the sum is not modelled")
    dtype = values[0].dtype.name
    acc = "float32" if dtype == "bfloat16" else dtype
    total = _tf_eigen_sum([_in(v, acc) for v in values])
    if divisor is not None:
        with np.errstate(all="ignore"):
            total = _div(total, _num(divisor, total))
    return tf_flush(_in(total, dtype))


def tf_reduce(g: Gathered, per_element: Callable[[Element], Scalar]) -> Scalar:
    """tf.reduce_sum / tf.reduce_mean of the elements. A tensor of one element is copied (the
    reduction helper drops size-1 axes and "reduces nothing"): no addition to 0, no division."""
    if g.reduction == "none" or g.numel == 1:
        return per_element(_tf_element(g.single))
    if g.numel > TF_MAX_FULL_REDUCTION:
        raise Undetermined("a large reduction: Eigen's split of the sum is not modelled")
    values = [per_element(_tf_element(e)) for e in g.elements]
    return _tf_total(values, g.numel if g.reduction == "mean" else None)


def tf_contributions(g: Gathered, per_element: Callable[[Element, Scalar], Scalar]) -> Scalar:
    """A gradient: ``per_element(element, upstream)``, summed over broadcast axes
    (_ReduceGradientArgs: a reduce_sum). Over every axis it is Eigen's full reduction
    (_tf_total); over some axes only, in order from 0 (measured for a sum over the leading axes
    on random arrays: 88 of 88 float32, 85 of 87 float64 columns; over the last axis Eigen's
    inner-most order instead: not told apart here, Gathered keeps no shape)."""

    def one(e: Element) -> Scalar:
        f = _tf_element(e)
        return per_element(f, tf_upstream(g, f))

    values = [one(e) for e in g.elements]
    if len(values) == 1:
        return values[0]
    if len(values) < g.numel:  # a sum over the leading axes: in order (see above)
        return _tf_sequential_total(values)
    return _tf_total(values)


def _sum(terms: list[Scalar]) -> Scalar:
    """AddN of a tensor's gradient contributions, added left to right (each model lists them
    in the order that reproduces TensorFlow bit for bit, tests/findings/test_tensorflow_models.py)."""
    total = terms[0]
    for t in terms[1:]:
        total = _add(total, t)
    return total


def tf_sigmoid_xent_element(e: Element) -> Scalar:
    """``(relu - x*z) + log1p(exp(neg_abs))``, ``relu = where(x >= 0, x, 0)``,
    ``neg_abs = where(x >= 0, -x, x)``."""
    x, zero = e.x, _zero(e.x)
    cond = bool(x >= zero)
    relu = x if cond else zero
    neg_abs = -x if cond else x
    return _add(_sub(relu, _mul(x, e.y)), _tf_fn(log1p, _tf_fn(exp, neg_abs)))


def _tf_relu(v: Scalar) -> Scalar:
    """Eigen's ``cwiseMax(0)``: ``v < 0 ? 0 : v`` (NaN and -0 pass through)."""
    return _zero(v) if v < _zero(v) else v


def _tf_weighted_parts(e: Element) -> tuple[Scalar, Scalar, Scalar, Scalar, Scalar]:
    """(1 - z, log_weight = 1 + (q - 1)*z, u = exp(-|x|), relu(-x), S = log1p(u) + relu(-x))."""
    x, y, p = e.x, e.y, e.p
    one = _one(x)
    one_minus_y = _sub(one, y)
    lw = _add(one, _mul(_sub(p, one), y))
    u = _tf_fn(exp, -abs(x))
    r = _tf_relu(-x)
    return one_minus_y, lw, u, r, _add(_tf_fn(log1p, u), r)


def tf_weighted_xent_element(e: Element) -> Scalar:
    """``(1 - z)*x + (1 + (q - 1)*z) * (log1p(exp(-abs(x))) + relu(-x))``."""
    one_minus_y, lw, _, _, s = _tf_weighted_parts(e)
    return _add(_mul(one_minus_y, e.x), _mul(lw, s))


def tf_logits_element(e: Element) -> Scalar:
    return tf_sigmoid_xent_element(e) if e.p is None else tf_weighted_xent_element(e)


def tf_logits_value(g: Gathered) -> Scalar:
    return tf_reduce(g, tf_logits_element)


def tf_sigmoid_xent_grad_x(e: Element, go: Scalar) -> Scalar:
    """The tape's gradient of the unweighted graph: relu's select passes ``g`` where x >= 0,
    ``x*z`` gives ``(-g)*z``, log1p(exp(neg_abs)) gives ``d = (g*(1/(1 + u)))*u``, routed by
    the select through ``-x`` (negated) where x >= 0, else straight to x."""
    x, zero, one = e.x, _zero(e.x), _one(e.x)
    cond = bool(x >= zero)
    u = _tf_fn(exp, -x if cond else x)
    d = _mul(_mul(go, _div(one, _add(one, u))), u)
    return _sum(
        [
            go if cond else zero,  # relu = where(cond, x, 0)
            _mul(-go, e.y),  # - x * z
            -(d if cond else zero),  # where(cond, -x, .): through the Neg
            zero if cond else d,  # where(cond, ., x)
        ]
    )


def _tf_sign(x: Scalar) -> Scalar:
    """Eigen's sign: NaN for NaN, else (x > 0) - (x < 0) (0 at +-0)."""
    one, zero = _one(x), _zero(x)
    if x != x:
        return x
    return one if x > zero else (-one if x < zero else zero)


def tf_weighted_xent_grad_x(e: Element, go: Scalar, sign_at_zero: int = 0) -> Scalar:
    """``g*(1 - z)``, then through ``lw * (log1p(exp(-abs(x))) + relu(-x))``: Abs's gradient
    ``-(((g*lw)*(1/(1 + u)))*u) * sign(x)`` and ReluGrad's ``-((g*lw) * (relu(-x) > 0))``,
    both 0 at x = 0, where the loss has slope (1 - z) - lw/2 (``sign_at_zero=1``, the one-sided
    derivative of |x|, gives it)."""
    one_minus_y, lw, u, r, _ = _tf_weighted_parts(e)
    one, zero = _one(e.x), _zero(e.x)
    gs = _mul(lw, go)
    sign = _tf_sign(e.x) if e.x != zero else _num(sign_at_zero, e.x)
    t_abs = _mul(-_mul(_mul(gs, _div(one, _add(one, u))), u), sign)
    t_relu = -_mul(gs, one if r > zero else zero)
    return _sum([_mul(go, one_minus_y), t_relu, t_abs])


def tf_logits_grad_input(g: Gathered, sign_at_zero: int = 0) -> Scalar:
    def one(e: Element, go: Scalar) -> Scalar:
        if e.p is None:
            return tf_sigmoid_xent_grad_x(e, go)
        return tf_weighted_xent_grad_x(e, go, sign_at_zero)

    return tf_contributions(g, one)


def tf_logits_grad_target(g: Gathered) -> Scalar:
    """``(-g)*x`` (the product x*z); with pos_weight ``-(g*x) + (g*S)*(q - 1)`` (through
    ``1 - z`` and ``(q - 1)*z``), S the softplus term."""

    def one(e: Element, go: Scalar) -> Scalar:
        if e.p is None:
            return _mul(-go, e.x)
        _, _, _, _, s = _tf_weighted_parts(e)
        return _add(-_mul(go, e.x), _mul(_mul(go, s), _sub(e.p, _one(e.p))))

    return tf_contributions(g, one)


def tf_logits_grad_pos_weight(g: Gathered) -> Scalar:
    """``(g*S)*z``: the gradient of (q - 1)*z, S the softplus term."""

    def one(e: Element, go: Scalar) -> Scalar:
        _, _, _, _, s = _tf_weighted_parts(e)
        return _mul(_mul(go, s), e.y)

    return tf_contributions(g, one)


KERAS_EPSILON = 1e-7  # keras.config.epsilon()


def keras_clip_bounds(dtype: str) -> tuple[Scalar, Scalar]:
    """clip_by_value's bounds, Python floats converted to the dtype: ``1e-7`` and
    ``1.0 - 1e-7`` (computed in double: 1 in float16 and bfloat16)."""
    return const(KERAS_EPSILON, dtype), const(1.0 - KERAS_EPSILON, dtype)


def keras_clipped(x: Scalar, bounds: tuple[Scalar, Scalar] | None = None) -> Scalar:
    """``maximum(minimum(x, 1 - eps), eps)`` (TensorFlow's Minimum/Maximum propagate NaN)."""
    lo, hi = keras_clip_bounds(x.dtype.name) if bounds is None else bounds
    if x != x:
        return x
    o = hi if hi < x else x
    return lo if o < lo else o


def keras_log_one_minus(o: Scalar, log1p_fix: bool = False) -> Scalar:
    """``log(1 - o)`` of the rounded ``1 - o`` (``log1p(-o)`` with ``log1p_fix``)."""
    return _tf_fn(log1p, -o) if log1p_fix else _tf_fn(log, _sub(_one(o), o))


Bounds = Callable[[str], tuple[Scalar, Scalar]]  # dtype -> clip bounds


def keras_bce_element(
    e: Element, bounds: tuple[Scalar, Scalar] | None = None, log1p_fix: bool = False
) -> Scalar:
    """``-(z*log(o) + (1 - z)*log(1 - o))``, o the clipped probability."""
    o = keras_clipped(e.x, bounds)
    bce = _mul(e.y, _tf_fn(log, o))
    return -_add(bce, _mul(_sub(_one(o), e.y), keras_log_one_minus(o, log1p_fix)))


def keras_bce_value(g: Gathered, bounds: Bounds | None = None, log1p_fix: bool = False) -> Scalar:
    clip = None if bounds is None else bounds(g.dtype)
    return tf_reduce(g, lambda e: keras_bce_element(e, clip, log1p_fix))


def keras_bce_derivative(e: Element, go: Scalar, o: Scalar, divide: bool = False) -> Scalar:
    """The gradient reaching the clipped o: ``((-g)*z)*(1/o)`` plus
    ``-(((-g)*(1 - z))*(1/(1 - o)))`` (Log's gradient, then 1 - o's Sub)."""
    one = _one(o)
    ng = -go
    if divide:  # Log's gradient as grad / x (the repaired formula of a cause)
        a = _div(_mul(ng, e.y), o)
        b = -_div(_mul(ng, _sub(one, e.y)), _sub(one, o))
    else:
        a = _mul(_mul(ng, e.y), _div(one, o))
        b = -_mul(_mul(ng, _sub(one, e.y)), _div(one, _sub(one, o)))
    return _add(a, b)


def keras_bce_grad_input(
    g: Gathered,
    bounds: Bounds | None = None,
    derivative: Callable[[Element, Scalar, Scalar], Scalar] | None = None,
) -> Scalar:
    """The derivative at the clipped o, then clip_by_value's gradient (Minimum's, then
    Maximum's): passed where ``x <= 1 - eps`` and ``min(x, 1 - eps) >= eps``, else 0."""
    lo, hi = keras_clip_bounds(g.dtype) if bounds is None else bounds(g.dtype)

    def one(e: Element, go: Scalar) -> Scalar:
        zero = _zero(e.x)
        o1 = hi if hi < e.x else e.x
        d = (derivative or keras_bce_derivative)(e, go, keras_clipped(e.x, (lo, hi)))
        d = d if o1 >= lo else zero
        return d if e.x <= hi else zero

    return tf_contributions(g, one)


def keras_bce_grad_target(
    g: Gathered, bounds: Bounds | None = None, log1p_fix: bool = False
) -> Scalar:
    """``(-g)*log(o) + -((-g)*log(1 - o))`` (the second through ``1 - z``'s Sub)."""
    clip = None if bounds is None else bounds(g.dtype)

    def one(e: Element, go: Scalar) -> Scalar:
        o = keras_clipped(e.x, clip)
        ng = -go
        return _add(_mul(ng, _tf_fn(log, o)), -_mul(ng, keras_log_one_minus(o, log1p_fix)))

    return tf_contributions(g, one)


# ------------------------------------------------------------------ the models by backend

LOGITS = "binary_cross_entropy_with_logits"
BCE = "binary_cross_entropy"

TF_MODELS: dict[tuple[str, str], Model] = {  # as written; MODELS holds them through tf_kernel
    (BCE, "value"): keras_bce_value,
    (BCE, "grad_input"): keras_bce_grad_input,
    (BCE, "grad_target"): keras_bce_grad_target,
    (LOGITS, "value"): tf_logits_value,
    (LOGITS, "grad_input"): tf_logits_grad_input,
    (LOGITS, "grad_target"): tf_logits_grad_target,
    (LOGITS, "grad_pos_weight"): tf_logits_grad_pos_weight,
}

MODELS: dict[str, dict[tuple[str, str], Model]] = {
    "torch": {
        (BCE, "value"): torch_bce_value,
        (BCE, "grad_input"): torch_bce_grad_input,
        (BCE, "grad_target"): torch_bce_grad_target,
        (LOGITS, "value"): torch_logits_value,
        (LOGITS, "grad_input"): torch_logits_grad_input,
        (LOGITS, "grad_target"): torch_logits_grad_target,
    },
    "paddle": {
        (BCE, "value"): paddle_bce_value,
        (BCE, "grad_input"): paddle_bce_grad_input,
        (BCE, "grad_weight"): paddle_bce_grad_weight,
        (LOGITS, "value"): paddle_logits_value,
        (LOGITS, "grad_input"): paddle_logits_grad_input,
        (LOGITS, "grad_weight"): paddle_logits_grad_weight,
    },
    "tensorflow": {key: tf_kernel(model) for key, model in TF_MODELS.items()},
    "onnxruntime": {(LOGITS, "value"): ort_logits_value},  # conformance.findings.onnx_models
}


def model_for(backend: str, function: str, quantity: str) -> Model | None:
    """The kernel model of ``backend`` for one quantity, or None where there is none. A gradient
    comes out in its argument's dtype (autograd casts it there: a mixed-dtype case)."""
    model = MODELS.get(backend, {}).get((function, quantity))
    if model is None or not quantity.startswith("grad_"):
        return model
    wrt = quantity.removeprefix("grad_")

    def in_argument_dtype(g: Gathered) -> Scalar | None:
        out = model(g)  # None: a case the model does not cover
        return None if out is None else _in(out, g.argument_dtype(wrt))

    return in_argument_dtype
