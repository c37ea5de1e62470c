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
    to,
)
from conformance.findings.elements import Element, Gathered

Model = Callable[[Gathered], Scalar]
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
# operation; their exp, log, log1p are the float functions, rounded back). Gradients are the
# registered gradient functions of those ops (SOURCES["tf_grads"]), applied by GradientTape in
# reverse; a tensor used by several ops gets the sum of its contributions (AddN, in the order
# TF_AGGREGATION lists them). Eigen's vectorized exp/log/log1p (tensors of 8 or more elements)
# are polynomial approximations that are not modelled: the models hold for the scalar path.


def _tf_fn(fn: Callable[[Scalar], Scalar], v: Scalar) -> Scalar:
    """An Eigen elementary function: for Eigen::half / bfloat16 the float function, rounded."""
    return _elementary_via_float(fn, v)


def tf_upstream(g: Gathered, e: Element, like: Scalar) -> Scalar:
    """The upstream gradient of one loss element: the case's (or ones), through _SumGrad (a
    tile) or _MeanGrad (a tile, then ``truediv`` by N converted to the dtype)."""
    base = e.go if e.go is not None else _one(like)
    if g.reduction == "mean":
        with np.errstate(all="ignore"):
            return base / _num(g.numel, base)
    return base


def tf_reduce(g: Gathered, per_element: Callable[[Element], Scalar]) -> Scalar:
    """tf.reduce_sum / tf.reduce_mean of the elements; one element as it is."""
    if len(g.elements) == 1:
        v = per_element(g.single)
        if g.reduction == "mean":
            with np.errstate(all="ignore"):
                return v / _num(g.numel, v)
        return v
    return reduce(g, per_element)


def _tf_sum(terms: list[Scalar]) -> Scalar:
    """AddN of the gradient contributions, added left to right."""
    total = terms[0]
    with np.errstate(all="ignore"):
        for t in terms[1:]:
            total = total + t
    return total


def _tf_where(cond: bool, a: Scalar, b: Scalar) -> Scalar:
    return a if cond else b


def tf_sigmoid_xent_element(e: Element) -> Scalar:
    """``relu - x*z + log1p(exp(neg_abs))`` with ``relu = where(x >= 0, x, 0)`` and
    ``neg_abs = where(x >= 0, -x, x)``."""
    x, y, zero = e.x, e.y, _zero(e.x)
    cond = bool(x >= zero)
    with np.errstate(all="ignore"):
        relu = _tf_where(cond, x, zero)
        neg_abs = _tf_where(cond, -x, x)
        return (relu - x * y) + _tf_fn(log1p, _tf_fn(exp, neg_abs))


def _tf_relu(v: Scalar) -> Scalar:
    """Eigen's ``cwiseMax(0)``: ``v < 0 ? 0 : v`` (NaN and -0 pass through)."""
    return _zero(v) if v < _zero(v) else v


def _tf_weighted_parts(e: Element) -> tuple[Scalar, Scalar, Scalar, Scalar, Scalar]:
    """(1 - z, log_weight, exp(-|x|), relu(-x), log1p(exp(-|x|)) + relu(-x))."""
    x, y, p = e.x, e.y, e.p
    one = _one(x)
    with np.errstate(all="ignore"):
        one_minus_y = one - y
        lw = one + (p - one) * y
        u = _tf_fn(exp, -abs(x))
        r = _tf_relu(-x)
        s = _tf_fn(log1p, u) + r
    return one_minus_y, lw, u, r, s


def tf_weighted_xent_element(e: Element) -> Scalar:
    """``(1 - z)*x + (1 + (q - 1)*z) * (log1p(exp(-abs(x))) + relu(-x))``."""
    one_minus_y, lw, _, _, s = _tf_weighted_parts(e)
    with np.errstate(all="ignore"):
        return one_minus_y * e.x + lw * s


def tf_logits_element(e: Element) -> Scalar:
    return tf_sigmoid_xent_element(e) if e.p is None else tf_weighted_xent_element(e)


def tf_logits_value(g: Gathered) -> Scalar:
    return tf_reduce(g, tf_logits_element)


TF_AGGREGATION = {
    "sigmoid_x": (0, 1, 2, 3),
    "weighted_x": (0, 1, 2),
}


def tf_sigmoid_xent_grad_x(e: Element, go: Scalar) -> Scalar:
    """The tape's gradient of the unweighted graph: relu's select passes ``g`` where x >= 0,
    ``x*z`` gives ``-g*z``, and log1p(exp(neg_abs)) gives ``d = g*(1/(1 + u))*u`` routed by the
    select through ``-x`` (negated) where x >= 0, else straight; the four contributions are
    summed."""
    x, y, zero = e.x, e.y, _zero(e.x)
    cond = bool(x >= zero)
    one = _one(x)
    with np.errstate(all="ignore"):
        neg_abs = _tf_where(cond, -x, x)
        u = _tf_fn(exp, neg_abs)
        d = (go * (one / (one + u))) * u
        terms = [
            _tf_where(cond, go, zero),  # relu = where(cond, x, 0)
            (-go) * y,  # - x * z
            -_tf_where(cond, d, zero),  # where(cond, -x, .): the Neg
            _tf_where(cond, zero, d),  # where(cond, ., x)
        ]
    return _tf_sum([terms[i] for i in TF_AGGREGATION["sigmoid_x"]])


def tf_weighted_xent_grad_x(e: Element, go: Scalar) -> Scalar:
    """``g*(1 - z)``, then through ``lw * (log1p(exp(-abs(x))) + relu(-x))``:
    ``-(g*lw*(1/(1 + u))*u) * sign(x)`` (Abs's gradient, 0 at x = 0) and
    ``-((g*lw) * (relu(-x) > 0))`` (ReluGrad, 0 at x = 0)."""
    x = e.x
    one_minus_y, lw, u, r, _ = _tf_weighted_parts(e)
    one, zero = _one(x), _zero(x)
    with np.errstate(all="ignore"):
        gs = lw * go
        sign = x if x != x else (one if x > zero else (-one if x < zero else zero))
        t_abs = (-((gs * (one / (one + u))) * u)) * sign
        t_relu = -(gs * (one if r > zero else zero))
        terms = [go * one_minus_y, t_abs, t_relu]
    return _tf_sum([terms[i] for i in TF_AGGREGATION["weighted_x"]])


def tf_logits_grad_input(g: Gathered) -> Scalar:
    def one(e: Element) -> Scalar:
        go = tf_upstream(g, e, e.x)
        if e.p is None:
            return tf_sigmoid_xent_grad_x(e, go)
        return tf_weighted_xent_grad_x(e, go)

    return sum_contributions(g, one)


def tf_logits_grad_target(g: Gathered) -> Scalar:
    """``-g*x`` (the product x*z); with pos_weight ``-(g*x) + (g*S)*(q - 1)``, S the softplus
    term."""

    def one(e: Element) -> Scalar:
        go = tf_upstream(g, e, e.x)
        with np.errstate(all="ignore"):
            if e.p is None:
                return (-go) * e.x
            _, _, _, _, s = _tf_weighted_parts(e)
            return -(go * e.x) + (go * s) * (e.p - _one(e.p))

    return sum_contributions(g, one)


def tf_logits_grad_pos_weight(g: Gathered) -> Scalar:
    """``(g*S)*z``: the product (q - 1)*z's gradient, S the softplus term."""

    def one(e: Element) -> Scalar:
        go = tf_upstream(g, e, e.x)
        _, _, _, _, s = _tf_weighted_parts(e)
        with np.errstate(all="ignore"):
            return (go * s) * e.y

    return sum_contributions(g, one)


KERAS_EPSILON = 1e-7  # keras.config.epsilon()


def keras_clip_bounds(dtype: str) -> tuple[Scalar, Scalar]:
    """clip_by_value's bounds, Python floats converted to the dtype: ``1e-7`` and
    ``1.0 - 1e-7`` (computed in double; 1 in float16 and bfloat16)."""
    return const(KERAS_EPSILON, dtype), const(1.0 - KERAS_EPSILON, dtype)


def keras_clipped(x: Scalar) -> Scalar:
    """``maximum(minimum(x, 1 - eps), eps)`` (TensorFlow's Minimum/Maximum propagate NaN)."""
    lo, hi = keras_clip_bounds(x.dtype.name)
    if x != x:
        return x
    o = hi if hi < x else x
    return lo if o < lo else o


def keras_bce_element(e: Element) -> Scalar:
    """``-(z*log(o) + (1 - z)*log(1 - o))``, o the clipped probability."""
    o = keras_clipped(e.x)
    one = _one(o)
    with np.errstate(all="ignore"):
        bce = e.y * _tf_fn(log, o)
        bce = bce + (one - e.y) * _tf_fn(log, one - o)
        return -bce


def keras_bce_value(g: Gathered) -> Scalar:
    return tf_reduce(g, keras_bce_element)


def keras_bce_grad_input(g: Gathered) -> Scalar:
    """``(-g*z)*(1/o)`` plus ``-((-g*(1 - z))*(1/(1 - o)))``, then clip_by_value's gradient:
    passed where ``x <= 1 - eps`` and ``min(x, 1 - eps) >= eps``, else 0."""

    def one(e: Element) -> Scalar:
        go = tf_upstream(g, e, e.x)
        lo, hi = keras_clip_bounds(e.x.dtype.name)
        o = keras_clipped(e.x)
        o1 = hi if hi < e.x else e.x
        one_, zero = _one(o), _zero(o)
        with np.errstate(all="ignore"):
            ng = -go
            a = (ng * e.y) * (one_ / o)
            b = -((ng * (one_ - e.y)) * (one_ / (one_ - o)))
            d = a + b
            d = d if o1 >= lo else zero
            return d if e.x <= hi else zero

    return sum_contributions(g, one)


def keras_bce_grad_target(g: Gathered) -> Scalar:
    """``(-g)*log(o) - (-g)*log(1 - o)`` (the second through ``1 - z``'s Sub)."""

    def one(e: Element) -> Scalar:
        go = tf_upstream(g, e, e.x)
        o = keras_clipped(e.x)
        one_ = _one(o)
        with np.errstate(all="ignore"):
            ng = -go
            return ng * _tf_fn(log, o) + -(ng * _tf_fn(log, one_ - o))

    return sum_contributions(g, one)


# ------------------------------------------------------------------ the models by backend

LOGITS = "binary_cross_entropy_with_logits"
BCE = "binary_cross_entropy"

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
    "tensorflow": {
        (BCE, "value"): keras_bce_value,
        (BCE, "grad_input"): keras_bce_grad_input,
        (BCE, "grad_target"): keras_bce_grad_target,
        (LOGITS, "value"): tf_logits_value,
        (LOGITS, "grad_input"): tf_logits_grad_input,
        (LOGITS, "grad_target"): tf_logits_grad_target,
        (LOGITS, "grad_pos_weight"): tf_logits_grad_pos_weight,
    },
}


def model_for(backend: str, function: str, quantity: str) -> Model | None:
    """The kernel model of ``backend`` for one quantity, or None where there is none. A gradient
    comes out in its argument's dtype (autograd casts it there: a mixed-dtype case)."""
    model = MODELS.get(backend, {}).get((function, quantity))
    if model is None or not quantity.startswith("grad_"):
        return model
    wrt = quantity.removeprefix("grad_")

    def in_argument_dtype(g: Gathered) -> Scalar:
        return _in(model(g), g.argument_dtype(wrt))

    return in_argument_dtype
