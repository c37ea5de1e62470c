"""The project's own vectorized NumPy kernel for the binary cross-entropy losses (backend "numpy").

Formulas, in the documentation's notation (weight w and pos_weight p broadcast to the target's
shape; absent ones are 1):

* ``binary_cross_entropy``, domain x_n, y_n in [0, 1] (NaN is outside):
  ``l_n = -w_n [ y_n max(log x_n, -100) + (1 - y_n) max(log(1 - x_n), -100) ]``; a term whose
  coefficient y_n or 1 - y_n is 0 contributes exactly 0.
* ``binary_cross_entropy_with_logits``, every real x_n, y_n, p_n, w_n:
  ``l_n = w_n [ p_n y_n softplus(-x_n) + (1 - y_n) softplus(x_n) ]``, softplus(z) = log(1 + e^z).
* reduction: ``none``; ``sum``; ``mean`` = sum / N with N the number of elements (NaN when N = 0).

Gradients are those of the reduced loss times ``grad_output``, shaped like their argument (summed
over the broadcast dimensions for weight and pos_weight):

* BCE: d/dx = -w [y D1 - (1 - y) D2] with D1 = 1/x, D2 = 1/(1 - x), and 0 where that log term is
  clamped; d/dy = -w [max(log x, -100) - max(log(1 - x), -100)]; d/dw = the unweighted term.
* with logits: d/dx = w [(1 - y + p y) sigmoid(x) - p y]; d/dy = w [p softplus(-x) - softplus(x)];
  d/dw = the bracket; d/dp = w y softplus(-x).

At a point where an argument is infinite the value is the limit of the formula (one infinite
argument among x, y, p, the weight may be infinite too; see ``_Limit``): an infinite weight
times a bracket that is identically 0 gives 0, times one that only tends to 0 gives NaN; with
y infinite the bracket is taken as b + y * slope and its sign follows the slope's exact sign.
A NaN anywhere in an element makes every quantity of that element NaN. Exact zeros are +0.0.

How the results are made accurate (each is meant to be within 1 ULP of the correctly rounded
value in float32, float16 and bfloat16, 2 ULP in float64):

* float32, float16 and bfloat16 are computed in float64, float64 in the x87 80-bit long double
  (64-bit significand); every result is rounded once into its dtype. (ml_dtypes rounds float64
  to bfloat16 through float32, i.e. twice, so that cast goes through a round-to-odd float32.)
* ``log1p`` is ``log(u) + (z - (u - 1)) / u`` with ``u = 1 + z``: a Fast2Sum correction that
  keeps ``softplus(-|x|) = log1p(e^-|x|)`` relatively accurate deep into subnormal results.
* Quantities that can cancel (the with-logits bracket outside y in [0, 1], p >= 0; d/dx near its
  zero; d/dy) carry a bound on their rounding error. Where the bound is too large for the dtype,
  the element is recomputed by an accurate phase in MPFR (gmpy2) at rising precision (Ziv's
  strategy), so cancellation near a zero of the gradient costs time on those elements only.
* Sums are pairwise sums in the working precision, over blocks, then over the block sums.
* Large arrays are cut into blocks that run on a thread pool (NumPy releases the GIL); each
  thread keeps its scratch arrays (``_Workspace``), since fresh temporaries per block cost more
  than the arithmetic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction

import gmpy2
import ml_dtypes
import numpy as np

from conformance.backends.protocol import (
    API_FORMS,
    DTYPES,
    GRADIENT_ARGUMENTS,
    LAYOUTS,
    Call,
    Outcome,
    check_supported,
    dtype_name,
    promoted_dtype,
    with_layout,
)

BCE = "binary_cross_entropy"
BCE_WITH_LOGITS = "binary_cross_entropy_with_logits"
REDUCTIONS = ("none", "mean", "sum")

_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
_LONG = np.dtype(np.longdouble)
_F64 = np.dtype(np.float64)
_DTYPES: dict[str, np.dtype] = {
    "float64": _F64,
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": _BFLOAT16,
}
# Working precision per dtype. float64 holds every product of two <= 24-bit significands
# exactly; the x87 long double has 11 bits more than float64 (where long double is plain double,
# the cancellation limit below sends every cancelling element to the accurate phase instead).
_WORK: dict[np.dtype, np.dtype] = {
    _F64: _LONG,
    _DTYPES["float32"]: _F64,
    _DTYPES["float16"]: _F64,
    _DTYPES["bfloat16"]: _F64,
}
# log x < -100 exactly when x < E_MINUS_100, the smallest double above e^-100.
E_MINUS_100 = float.fromhex("0x1.a8c1f14e2af5dp-145")
CLAMP = -100.0
_BLOCK = 1 << 16
# The accurate phase stops at a certified 2**-80 relative error, or at this precision.
_MAX_PRECISION = 1 << 14

# Quantities: the loss ("value") and its derivative in each argument. Each is a bracket times
# factors; the weight is one of them except for d/dw, grad_output (/ N) for the derivatives.
# With logits, the arguments each bracket depends on.
_WEIGHTED = {"value": True, "input": True, "target": True, "weight": False, "pos_weight": True}
_LOGITS_DEPENDS = {
    "value": "xyp",
    "weight": "xyp",
    "input": "xyp",
    "target": "xp",
    "pos_weight": "xy",
}


# -- arguments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """A validated call: flat arrays of one dtype, the weights broadcast to the target's shape."""

    function: str
    dtype: np.dtype
    work: np.dtype
    shape: tuple[int, ...]
    reduction: str
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray | None
    p: np.ndarray | None
    weight_shape: tuple[int, ...] | None
    pos_weight_shape: tuple[int, ...] | None

    @property
    def size(self) -> int:
        return self.x.size

    @property
    def cancellation_limit(self) -> float:
        """The quick phase is trusted while sum|terms| / |result| stays below this: its error,
        a few units of the working precision times sum|terms|, is then below 1/4 ULP."""
        return 2.0 ** (np.finfo(self.work).nmant - ml_dtypes.finfo(self.dtype).nmant - 4)

    @property
    def exact_products(self) -> bool:
        """Whether a product of two arguments is exact in the working precision."""
        return 2 * (ml_dtypes.finfo(self.dtype).nmant + 1) <= np.finfo(self.work).nmant + 1

    def argument_shape(self, name: str) -> tuple[int, ...] | None:
        return {
            "input": self.shape,
            "target": self.shape,
            "weight": self.weight_shape,
            "pos_weight": self.pos_weight_shape,
        }[name]


def resolve_reduction(
    reduction: str, size_average: bool | None = None, reduce: bool | None = None
) -> str:
    """The effective reduction; the legacy pair overrides ``reduction`` as in PyTorch's
    ``_Reduction.legacy_get_string`` (None counts as True)."""
    if size_average is not None or reduce is not None:
        if reduce is None or reduce:
            return "mean" if size_average is None or size_average else "sum"
        return "none"
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction: {reduction!r} is not a valid value; expected 'none', 'mean' or 'sum'"
        )
    return reduction


def _as_array(value: object, name: str, dtype: np.dtype | None) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype not in _WORK:
        raise TypeError(f"{name}: dtype {array.dtype} is not one of {', '.join(_DTYPES)}")
    if dtype is not None and array.dtype != dtype:
        raise TypeError(f"{name}: dtype {array.dtype} differs from the input's dtype {dtype}")
    return array


def _broadcast_flat(
    value: object, name: str, dtype: np.dtype, shape: tuple[int, ...]
) -> tuple[np.ndarray | None, tuple[int, ...] | None]:
    """``value`` broadcast to ``shape`` and flattened, with its own shape; (None, None) if absent."""
    if value is None:
        return None, None
    array = _as_array(value, name, dtype)
    try:
        grown = np.broadcast_shapes(array.shape, shape)
    except ValueError:
        grown = None
    if grown != shape:
        raise ValueError(
            f"{name}: shape {array.shape} does not broadcast to the target's shape {shape}"
            " (broadcasting may not change the target's shape)"
        )
    return np.ascontiguousarray(np.broadcast_to(array, shape)).reshape(-1), array.shape


def _check_unit_interval(values: np.ndarray, name: str) -> None:
    if values.size == 0:
        return
    with np.errstate(all="ignore"):  # NaN fails every comparison
        inside = values.min() >= 0 and values.max() <= 1
        bad = None if inside else values[~((values >= 0) & (values <= 1))].reshape(-1)[0]
    if bad is not None:
        raise ValueError(f"{name}: all elements should be between 0 and 1, got {float(bad)!r}")


def _prepare(
    function: str,
    input: object,
    target: object,
    weight: object,
    pos_weight: object,
    reduction: str,
) -> _Problem:
    if function not in (BCE, BCE_WITH_LOGITS):
        raise ValueError(f"function: unknown loss {function!r}")
    reduction = resolve_reduction(reduction)
    x = _as_array(input, "input", None)
    y = _as_array(target, "target", x.dtype)
    if x.shape != y.shape:
        raise ValueError(
            f"target: shape {y.shape} differs from input shape {x.shape};"
            " the documentation requires the same shape"
        )
    if function == BCE:
        if pos_weight is not None:
            raise TypeError("binary_cross_entropy() has no pos_weight argument")
        _check_unit_interval(x, "input")
        _check_unit_interval(y, "target")
    w, w_shape = _broadcast_flat(weight, "weight", x.dtype, y.shape)
    p, p_shape = _broadcast_flat(pos_weight, "pos_weight", x.dtype, y.shape)
    return _Problem(
        function=function,
        dtype=x.dtype,
        work=_WORK[x.dtype],
        shape=y.shape,
        reduction=reduction,
        x=np.ascontiguousarray(x).reshape(-1),
        y=np.ascontiguousarray(y).reshape(-1),
        w=w,
        p=p,
        weight_shape=w_shape,
        pos_weight_shape=p_shape,
    )


# -- rounding into the dtype --------------------------------------------------------------------


def _round_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """float64 -> bfloat16 rounded once: round to odd into float32, then to nearest even."""
    wide = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):  # beyond float32: inf, then stepped back to its maximum
        narrow = wide.astype(np.float32)
    bits = narrow.view(np.uint32)
    inexact = (narrow.astype(np.float64) != wide) & ~np.isnan(wide)
    fix = inexact & ((bits & 1) == 0)
    step = np.where(np.abs(wide) > np.abs(narrow.astype(np.float64)), 1, -1).astype(np.int64)
    bits = (bits.astype(np.int64) + np.where(fix, step, 0)).astype(np.uint32)
    return bits.view(np.float32).astype(_BFLOAT16)


def _round_to(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Working-precision values rounded once to nearest (ties to even) into ``dtype``."""
    if dtype == _BFLOAT16:
        return _round_to_bfloat16(values)
    with np.errstate(over="ignore"):  # beyond the range: to inf
        return np.asarray(values).astype(dtype)


# -- per-thread scratch arrays ------------------------------------------------------------------

_local = threading.local()


class _Workspace:
    """Scratch arrays for one block, kept per thread and reused from block to block.

    Fresh temporaries for every block cost more than the arithmetic itself (the allocator maps
    and faults in new pages each time), so the hot paths write into these through ``out=``.
    ``ws(name)`` is the block-length array of that name (working dtype unless told otherwise).
    """

    def __init__(self, work: np.dtype, n: int):
        self.work = work
        self.n = n
        if not hasattr(_local, "arrays"):
            _local.arrays = {}
        self._arrays: dict[tuple[str, np.dtype], np.ndarray] = _local.arrays

    def __call__(self, name: str, dtype: type | np.dtype | None = None) -> np.ndarray:
        key = (name, np.dtype(dtype or self.work))
        array = self._arrays.get(key)
        if array is None or array.size < self.n:
            array = self._arrays[key] = np.empty(max(self.n, _BLOCK), dtype=key[1])
        return array[: self.n]


# -- elementary functions in the working precision ----------------------------------------------


def _log1p_unit(z: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """``out`` = log(1 + z) for -1 <= z <= 1 (z = -1 gives NaN or -inf; callers clamp it).

    With u = fl(1 + z), Fast2Sum makes ``z - (u - 1)`` the exact rounding error of u, and
    log(1 + z) = log(u) + (1 + z - u)/u up to a term below 2**-106 |z|.
    """
    u = np.add(z, 1, out=out)
    error = np.subtract(u, 1, out=scratch)
    np.subtract(z, error, out=error)
    np.divide(error, u, out=error)
    np.log(u, out=u)
    return np.add(u, error, out=u)


def _suspects(
    result: np.ndarray, magnitude: np.ndarray, limit: float, ws: _Workspace
) -> np.ndarray:
    """Indices where sum|terms| (``magnitude``) exceeds ``limit`` * |result|: the quick phase's
    rounding error may be too large there."""
    scaled = np.abs(result, out=ws("suspect"))
    np.multiply(scaled, limit, out=scaled)
    return np.flatnonzero(np.less(scaled, magnitude, out=ws("suspect", bool)))


# -- binary_cross_entropy brackets ---------------------------------------------------------------


def _bce_brackets(
    x: np.ndarray, y: np.ndarray, wanted: Sequence[str], ws: _Workspace
) -> dict[str, np.ndarray]:
    """The unweighted factor of each wanted quantity for x, y in [0, 1].

    value, weight: L = -[y max(log x, -100) + (1 - y) max(log(1 - x), -100)] (no cancellation:
    both terms have one sign); input: (x - y) / (x (1 - x)), or (1 - y)/(1 - x) where log x is
    clamped, or -y at x = 1; target: -logit(x), as -log1p((2x - 1)/(1 - x)) (or its mirror) on
    [1/4, 3/4], where log x - log(1 - x) would cancel.
    """
    tmp = ws("tmp")
    log_x = np.fmax(np.log(x, out=ws("log_x")), CLAMP, out=ws("log_x"))
    log_1mx = _log1p_unit(np.negative(x, out=ws("-x")), ws("log_1mx"), tmp)
    np.fmax(log_1mx, CLAMP, out=log_1mx)
    one_minus_y = np.subtract(1, y, out=ws("1-y"))
    out: dict[str, np.ndarray] = {}
    if "value" in wanted or "weight" in wanted:
        loss = np.multiply(y, log_x, out=ws("loss"))
        np.add(loss, np.multiply(one_minus_y, log_1mx, out=tmp), out=loss)
        out["value"] = out["weight"] = np.negative(loss, out=loss)
    if "input" in wanted:
        one_minus_x = np.subtract(1, x, out=ws("1-x"))
        grad = np.multiply(x, one_minus_x, out=ws("grad_input"))
        np.divide(np.subtract(x, y, out=tmp), grad, out=grad)
        clamped = np.less(x, E_MINUS_100, out=ws("mask", bool))
        if clamped.any():
            grad[clamped] = one_minus_y[clamped] / one_minus_x[clamped]
        at_one = np.equal(x, 1, out=ws("mask", bool))
        if at_one.any():
            grad[at_one] = -y[at_one]
        out["input"] = grad
    if "target" in wanted:
        logit = np.subtract(log_x, log_1mx, out=ws("grad_target"))
        middle = np.flatnonzero((x >= 0.25) & (x <= 0.75))
        if middle.size:
            xm = x[middle]
            lower = xm <= 0.5
            z = np.where(lower, (2 * xm - 1) / (1 - xm), (1 - 2 * xm) / xm)
            logit[middle] = np.where(lower, 1, -1) * _log1p_unit(
                z, np.empty_like(z), np.empty_like(z)
            )
        out["target"] = np.negative(logit, out=logit)
    return out


# -- binary_cross_entropy_with_logits brackets ----------------------------------------------------


def _logits_brackets(
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray | None,
    wanted: Sequence[str],
    problem: _Problem,
    ws: _Workspace,
) -> dict[str, np.ndarray]:
    """The unweighted factor of each wanted quantity (quick phase, then the accurate phase on
    elements whose error bound is too large).

    With a = |x|, e = e^-a and s = log1p(e) = softplus(-a):
    value, weight: B = (1 - y + p y) s + (1 - y) max(x, 0) + p y max(-x, 0);
    input: N / (1 + e) with N = (1 - y) - p y e for x >= 0 and (1 - y) e - p y for x < 0;
    target: (p - 1) s - x for x >= 0, (p - 1) s - p x for x < 0 (-x when p is absent);
    pos_weight: y (max(-x, 0) + s).
    """
    limit = problem.cancellation_limit
    tmp = ws("tmp")
    e = np.abs(x, out=ws("e"))
    np.exp(np.negative(e, out=e), out=e)
    s = _log1p_unit(e, ws("s"), tmp)
    positive = np.maximum(x, 0, out=ws("max(x,0)"))
    py = y if p is None else np.multiply(p, y, out=ws("py"))
    one_minus_y = np.subtract(1, y, out=ws("1-y"))
    out: dict[str, np.ndarray] = {}
    if "value" in wanted or "weight" in wanted:
        linear = ws("linear")  # (1 - y) max(x, 0) + p y max(-x, 0)
        if p is None and problem.exact_products:  # x - x y or -x y, rounded once
            np.subtract(positive, np.multiply(x, y, out=tmp), out=linear)
        else:
            np.multiply(one_minus_y, positive, out=linear)
            negative = np.subtract(positive, x, out=tmp)  # max(-x, 0), exactly
            np.add(linear, np.multiply(py, negative, out=negative), out=linear)
        if p is None:  # 1 - y + p y = 1
            loss = np.add(s, linear, out=ws("loss"))
        else:
            loss = np.multiply(np.add(one_minus_y, py, out=ws("loss")), s, out=ws("loss"))
            np.add(loss, linear, out=loss)
        natural = bool(y.size == 0 or (y.min() >= 0 and y.max() <= 1))
        natural = natural and (p is None or bool(p.size == 0 or p.min() >= 0))
        if not natural:  # the terms can have both signs
            coefficient = 1 if p is None else np.abs(one_minus_y) + np.abs(py)
            magnitude = coefficient * s + np.abs(linear)
            _refine(loss, _suspects(loss, magnitude, limit, ws), "value", x, y, p)
        out["value"] = out["weight"] = loss
    if "input" in wanted:
        # numerators of sigmoid(x) and sigmoid(-x) over 1 + e: (1, e) for x >= 0, (e, 1) below
        right = np.greater_equal(x, 0, out=ws("x>=0"))
        term_x = np.multiply(one_minus_y, np.maximum(e, right, out=ws("term_x")), out=ws("term_x"))
        left = np.subtract(1, right, out=right)
        term_minus_x = np.multiply(py, np.maximum(e, left, out=left), out=left)
        numerator = np.subtract(term_x, term_minus_x, out=ws("numerator"))
        grad = np.divide(numerator, np.add(e, 1, out=tmp), out=ws("grad_input"))
        magnitude = np.abs(term_x, out=term_x)
        np.add(magnitude, np.abs(term_minus_x, out=term_minus_x), out=magnitude)
        _refine(grad, _suspects(numerator, magnitude, limit, ws), "input", x, y, p)
        out["input"] = grad
    if "target" in wanted:
        grad = ws("grad_target")
        if p is None:
            np.negative(x, out=grad)
        else:
            q = np.multiply(np.minimum(x, 0, out=ws("q")), p, out=ws("q"))
            np.add(q, positive, out=q)  # x for x >= 0, p x below
            p_minus_1 = np.subtract(p, 1, out=ws("p-1"))
            np.subtract(np.multiply(p_minus_1, s, out=grad), q, out=grad)
            magnitude = np.multiply(np.abs(p_minus_1, out=p_minus_1), s, out=p_minus_1)
            np.add(magnitude, np.abs(q, out=q), out=magnitude)
            _refine(grad, _suspects(grad, magnitude, limit, ws), "target", x, y, p)
        out["target"] = grad
    if "pos_weight" in wanted:
        grad = np.subtract(positive, x, out=ws("grad_pos_weight"))  # max(-x, 0)
        out["pos_weight"] = np.multiply(np.add(grad, s, out=grad), y, out=grad)
    return out


def _refine(
    result: np.ndarray,
    suspects: np.ndarray,
    quantity: str,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray | None,
) -> None:
    """Recompute in place, by the accurate phase, the ``suspects`` elements of finite arguments."""
    for i in suspects:
        pi = 1.0 if p is None else float(p[i])
        xi, yi = float(x[i]), float(y[i])
        if np.isfinite(xi) and np.isfinite(yi) and np.isfinite(pi):
            result[i] = _mpfr_to_work(_accurate_bracket(quantity, xi, yi, pi), result.dtype)


# -- accurate phase (MPFR) ------------------------------------------------------------------------


def _mpfr_value(quantity: str, x: float, y: float, p: float):
    """(bracket, sum of |terms|) in the current MPFR context; every operation rounds once, so
    the error is below 2**(4 - precision) * sum|terms|."""
    mx, my, mp_ = gmpy2.mpfr(x), gmpy2.mpfr(y), gmpy2.mpfr(p)
    one_minus_y = 1 - my
    py = mp_ * my
    if quantity == "input_slope":  # -(sigmoid(x) + p sigmoid(-x)), see _slope_in_y
        e = gmpy2.exp(-abs(mx))
        if abs(x) < 1:
            one_plus_p, b_expm1 = 1 + mp_, (mp_ if x >= 0 else 1) * gmpy2.expm1(-abs(mx))
            n, magnitude = one_plus_p + b_expm1, abs(one_plus_p) + abs(b_expm1)
        else:
            direct, pe = (1, mp_ * e) if x >= 0 else (e, mp_)
            n, magnitude = direct + pe, direct + abs(pe)
        return -n / (1 + e), magnitude / (1 + e)
    if quantity == "input":
        e = gmpy2.exp(-abs(mx))
        denominator = 1 + e
        if abs(x) < 1:  # N = (1 - y - p y) + beta (e - 1): no rounding of e to 1 for tiny x
            alpha, beta_e = (
                one_minus_y - py,
                (-py if x >= 0 else one_minus_y) * gmpy2.expm1(-abs(mx)),
            )
        elif x >= 0:
            alpha, beta_e = one_minus_y, -py * e
        else:
            alpha, beta_e = -py, one_minus_y * e
        return (alpha + beta_e) / denominator, (abs(alpha) + abs(beta_e)) / denominator
    s = gmpy2.log1p(gmpy2.exp(-abs(mx)))
    if quantity == "value":
        linear = one_minus_y * mx if x > 0 else -py * mx
        value = (one_minus_y + py) * s + linear
        return value, (abs(one_minus_y) + abs(py)) * s + abs(linear)
    q = mx if x >= 0 else mp_ * mx  # target
    return (mp_ - 1) * s - q, abs(mp_ - 1) * s + abs(q)


def _is_structural_zero(quantity: str, x: float, y: float, p: float) -> bool:
    """Whether the bracket is exactly 0. Its transcendental part (in e^-|x|) is nonzero for
    x != 0 by Lindemann-Weierstrass, so a zero needs x = 0 or vanishing rational coefficients."""
    one_minus_y, py = 1 - Fraction(y), Fraction(p) * Fraction(y)
    if quantity == "input":  # N = (1 - y) - p y at x = 0; both coefficients 0 otherwise
        return (x == 0 and one_minus_y == py) or (one_minus_y == 0 and py == 0)
    if quantity == "value":  # (1 - y + p y) log 2 at x = 0
        return one_minus_y + py == 0 and (x == 0 or one_minus_y == 0)
    if quantity == "input_slope":  # (1 + p) + b (e^-|x| - 1)
        return x == 0 and p == -1
    return x == 0 and p == 1  # target: (p - 1) log 2 - x


def _accurate_bracket(quantity: str, x: float, y: float, p: float):
    """The bracket with a relative error below 2**-80 (Ziv: raise the precision until the
    rounding-error bound 2**(4 - precision) * sum|terms| is that small)."""
    if _is_structural_zero(quantity, x, y, p):
        return gmpy2.mpfr(0)
    precision = 128
    while True:
        with gmpy2.context(precision=precision):
            value, magnitude = _mpfr_value(quantity, x, y, p)
            certified = abs(value) >= magnitude * gmpy2.mpfr(2) ** (84 - precision)
        if certified or precision >= _MAX_PRECISION:
            return value
        precision = min(4 * precision, _MAX_PRECISION)


def _mpfr_to_work(value, work: np.dtype):
    """An MPFR number rounded into the working precision (long double via hi + lo doubles)."""
    if work == _F64:
        return np.float64(float(value))
    if value == 0 or not gmpy2.is_finite(value):
        return np.longdouble(float(value))
    exponent = gmpy2.get_exp(value)
    with gmpy2.context(precision=value.precision):
        scaled = gmpy2.mul_2exp(value, -exponent)
        high = float(scaled)
        low = float(scaled - high)
    return np.ldexp(np.longdouble(high) + np.longdouble(low), exponent)


# -- limits at infinite arguments -----------------------------------------------------------------

_REGULAR, _ZERO, _VANISHING = 0, 1, 2


class _Limit:
    """Quantities at points with infinite (or NaN) arguments, elementwise.

    ``kind`` is REGULAR (``value`` holds it: finite, +-inf, or NaN for "no limit"), ZERO
    (identically zero along the approach: it annihilates an infinite factor) or VANISHING (a
    nonzero quantity tending to 0: times an infinite factor it has no limit, NaN).
    """

    def __init__(self, value: np.ndarray, kind: np.ndarray | None = None):
        value = np.asarray(value)
        if kind is None:
            kind = np.where(value == 0, _ZERO, _REGULAR)
        self.kind = kind
        self.value = np.where(kind == _REGULAR, value, 0).astype(value.dtype)

    def __mul__(self, other: _Limit) -> _Limit:
        regular_inf = (self.kind == _REGULAR) & np.isinf(self.value)
        other_inf = (other.kind == _REGULAR) & np.isinf(other.value)
        nan = np.isnan(self.value) | np.isnan(other.value)
        nan |= ((self.kind == _VANISHING) & other_inf) | ((other.kind == _VANISHING) & regular_inf)
        zero = (self.kind == _ZERO) | (other.kind == _ZERO)
        vanishing = (self.kind == _VANISHING) | (other.kind == _VANISHING)
        kind = np.select([nan, zero, vanishing], [_REGULAR, _ZERO, _VANISHING], _REGULAR)
        value = np.where(nan, np.nan, self.value * other.value)
        return _Limit(value, kind)

    def __add__(self, other: _Limit) -> _Limit:
        value = self.value + other.value
        vanishing = (self.kind == _VANISHING) | (other.kind == _VANISHING)
        kind = np.where(value != 0, _REGULAR, np.where(vanishing, _VANISHING, _ZERO))
        return _Limit(value, kind)

    def __neg__(self) -> _Limit:
        return _Limit(-self.value, self.kind)

    def __sub__(self, other: _Limit) -> _Limit:
        return self + (-other)

    @staticmethod
    def where(condition: np.ndarray, a: _Limit, b: _Limit) -> _Limit:
        return _Limit(np.where(condition, a.value, b.value), np.where(condition, a.kind, b.kind))

    def resolved(self) -> np.ndarray:
        """The value of the limit: REGULAR values, 0 for ZERO and VANISHING."""
        return np.where(self.kind == _REGULAR, self.value, 0).astype(self.value.dtype)


def _pair_limits(
    x: np.ndarray, plus: np.ndarray, minus: np.ndarray, at_plus_inf: float
) -> tuple[_Limit, _Limit]:
    """f(x) and f(-x) for softplus (at_plus_inf = inf) or sigmoid (1) from their finite values:
    at x = +inf, f(x) -> at_plus_inf and f(-x) vanishes; at x = -inf the other way round."""
    floor = _tiny(x.dtype)
    plus = np.where(np.isinf(x), np.where(x > 0, at_plus_inf, 0), np.maximum(plus, floor))
    minus = np.where(np.isinf(x), np.where(x < 0, at_plus_inf, 0), np.maximum(minus, floor))
    regular = np.full(x.shape, _REGULAR)
    return (
        _Limit(plus, np.where(x == -np.inf, _VANISHING, regular)),
        _Limit(minus, np.where(x == np.inf, _VANISHING, regular)),
    )


def _slope_in_y(quantity: str, x: np.ndarray, p: np.ndarray, limit: float) -> np.ndarray:
    """The coefficient of y in a bracket, for finite x and p, with its sign exact (it decides
    the sign of the limit as y -> +-inf; quick phase, then the accurate phase where it cancels):

    value: p softplus(-x) - softplus(x) = (p - 1) s - [x if x >= 0 else p x], s = log1p(e^-|x|);
    input: -[sigmoid(x) + p sigmoid(-x)] = -n / (1 + e), e = e^-|x|, with n = 1 + p e for
    x >= 0 and e + p below, written (1 + p) + b (e - 1) (b = p, resp. 1) for |x| < 1.
    """
    e = np.exp(-np.abs(x))
    if quantity == "input":
        right = x >= 0
        b_expm1 = np.where(right, p, 1) * np.expm1(-np.abs(x))
        pe = np.where(right, p * e, p)
        direct = np.where(right, 1, e)
        small = np.abs(x) < 1
        n = np.where(small, 1 + p + b_expm1, direct + pe)
        magnitude = np.where(small, np.abs(1 + p) + np.abs(b_expm1), direct + np.abs(pe))
        slope, magnitude = -n / (1 + e), magnitude / (1 + e)
        mpfr_quantity = "input_slope"
    else:
        s = _log1p_unit(e, np.empty_like(e), np.empty_like(e))
        q = np.maximum(x, 0) + p * np.minimum(x, 0)
        slope, magnitude = (p - 1) * s - q, np.abs(p - 1) * s + np.abs(q)
        mpfr_quantity = "target"
    for i in np.flatnonzero(np.abs(slope) * limit < magnitude):
        exact = _accurate_bracket(mpfr_quantity, float(x[i]), 0.0, float(p[i]))
        slope[i] = _mpfr_to_work(exact, slope.dtype)
    # Zero only at x = 0 with p = 1 (value), p = -1 (input); any other 0 is an underflow of
    # e^-|x| (x far below 0, p = 0), whose sign is that of p - 1, resp. negative.
    structural = (x == 0) & (p == (-1 if quantity == "input" else 1))
    sign = -1 if quantity == "input" else np.sign(p - 1)
    return np.where((slope == 0) & ~structural, sign * _tiny(slope.dtype), slope)


def _tiny(work: np.dtype) -> np.generic:
    """A positive stand-in for an underflowed positive value: it keeps the sign, and it is far
    below anything that can reach a result (products with arguments never underflow it)."""
    return np.ldexp(work.type(1), np.finfo(work).minexp // 2)


def _logits_limit(
    quantity: str, x: np.ndarray, y: np.ndarray, p: np.ndarray | None, limit: float
) -> _Limit:
    """The bracket of ``quantity`` as a limit, term by term; with y infinite, the terms are
    collected on y first (B = softplus(x) + y [p softplus(-x) - softplus(x)], and
    d/dx bracket = sigmoid(x) - y [sigmoid(x) + p sigmoid(-x)]) as the limit in y requires,
    the coefficient of y taken from ``_slope_in_y`` where x and p are finite."""
    p = np.ones_like(x) if p is None else p
    e = np.exp(-np.abs(x))
    s = _log1p_unit(e, np.empty_like(e), np.empty_like(e))
    big_y, big_p, one_minus_y = _Limit(y), _Limit(p), _Limit(1 - y)
    if quantity == "input":
        sig_x, sig_minus_x = _pair_limits(
            x, np.where(x >= 0, 1, e) / (1 + e), np.where(x >= 0, e, 1) / (1 + e), 1.0
        )
        termwise = one_minus_y * sig_x - big_p * big_y * sig_minus_x
        slope = -(sig_x + big_p * sig_minus_x)
        base = sig_x
    else:
        sp_x, sp_minus_x = _pair_limits(x, np.maximum(x, 0) + s, np.maximum(-x, 0) + s, np.inf)
        if quantity == "target":
            return big_p * sp_minus_x - sp_x
        if quantity == "pos_weight":
            return big_y * sp_minus_x
        termwise = big_p * big_y * sp_minus_x + one_minus_y * sp_x
        slope = big_p * sp_minus_x - sp_x
        base = sp_x
    collect = np.isinf(y)
    sharpen = np.flatnonzero(collect & np.isfinite(x) & np.isfinite(p))
    if sharpen.size:
        slope.value[sharpen] = _slope_in_y(quantity, x[sharpen], p[sharpen], limit)
        slope.kind[sharpen] = np.where(slope.value[sharpen] == 0, _ZERO, _REGULAR)
    return _Limit.where(collect, base + big_y * slope, termwise)


def _special_elements(
    problem: _Problem,
    quantity: str,
    fast: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray | None,
    multiplier: _Limit | None,
) -> np.ndarray:
    """``quantity`` at elements with a non-finite argument: the limit of bracket x multiplier.

    Where the bracket's own arguments are finite its quick-phase value ``fast`` stands (the
    limit machinery then only decides its exact sign when it underflowed)."""
    if problem.function == BCE:
        bracket = _Limit(fast)
    else:
        lim = _logits_limit(quantity, x, y, p, problem.cancellation_limit)
        args = {"x": x, "y": y, "p": p}
        finite = np.ones(x.shape, dtype=bool)
        for name in _LOGITS_DEPENDS[quantity]:
            if args[name] is not None:
                finite &= np.isfinite(args[name])
        value = np.where(finite & (fast != 0), fast, lim.value)
        kind = np.where(finite, np.where(value != 0, _REGULAR, _ZERO), lim.kind)
        bracket = _Limit(value, kind)
    if multiplier is not None:
        bracket = bracket * multiplier
    return bracket.resolved()


# -- blocks -----------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix="numpy-kernel"
            )
        return _pool


def _map_blocks(task: Callable[[int, int], object], n: int) -> list:
    """``task(start, stop)`` over consecutive blocks of ``range(n)``, results in block order.

    The blocks are dealt to one thread per CPU in contiguous runs (one pool task per thread:
    fewer hand-offs of the GIL than one task per block)."""
    starts = list(range(0, n, _BLOCK))
    threads = min(os.cpu_count() or 1, len(starts))
    if threads <= 1:
        return [task(start, min(start + _BLOCK, n)) for start in starts]
    runs = [
        starts[len(starts) * i // threads : len(starts) * (i + 1) // threads]
        for i in range(threads)
    ]

    def run(run_starts: list[int]) -> list:
        return [task(start, min(start + _BLOCK, n)) for start in run_starts]

    return [result for results in _executor().map(run, runs) for result in results]


def _block_quantities(
    problem: _Problem,
    start: int,
    stop: int,
    wanted: Sequence[str],
    scale: np.ndarray | np.generic | None,
) -> dict[str, np.ndarray]:
    """Every wanted quantity on elements [start, stop), in the working precision.

    ``scale`` multiplies the gradients: grad_output (a block of it for 'none'), / N for 'mean'.
    The arrays returned are the calling thread's workspace: use them before its next block.
    """
    ws = _Workspace(problem.work, stop - start)

    def block(name: str, a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        converted = ws(name)
        converted[...] = a[start:stop]  # exact: the working precision is wider
        return converted

    x, y = block("x", problem.x), block("y", problem.y)
    w, p = block("w", problem.w), block("p", problem.p)
    g = scale[start:stop] if isinstance(scale, np.ndarray) and scale.ndim else scale
    with np.errstate(all="ignore"):
        if problem.function == BCE:
            brackets = _bce_brackets(x, y, wanted, ws)
        else:
            brackets = _logits_brackets(x, y, p, wanted, problem, ws)
        out = {}
        for quantity in wanted:
            factors = [
                f
                for f in (w if _WEIGHTED[quantity] else None, None if quantity == "value" else g)
                if f is not None
            ]
            values = brackets[quantity]
            for f in factors:
                values = np.multiply(values, f, out=ws("out_" + quantity))
            out[quantity] = values
        # A finite sum proves every argument finite (block sums cannot overflow the working
        # precision); otherwise look for the non-finite elements.
        if not np.isfinite(sum(np.sum(a) for a in (x, y, w, p, g) if a is not None)):
            _patch_special(problem, brackets, out, x, y, w, p, g)
        for values in out.values():
            np.add(values, 0, out=values)  # -0.0 -> +0.0: an exact zero result is +0
    return out


def _patch_special(
    problem: _Problem,
    brackets: dict[str, np.ndarray],
    out: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    p: np.ndarray | None,
    g: np.ndarray | np.generic | None,
) -> None:
    """Replace, in ``out``, the elements with a non-finite argument by their limits."""
    bad = ~(np.isfinite(x) & np.isfinite(y))
    for a in (w, p, g):
        if isinstance(a, np.ndarray) and a.ndim:
            bad |= ~np.isfinite(a)
    if g is not None and not (isinstance(g, np.ndarray) and g.ndim) and not np.isfinite(g):
        bad[:] = True
    index = np.flatnonzero(bad)
    if index.size == 0:
        return

    def pick(a):
        if a is None:
            return None
        return a[index] if isinstance(a, np.ndarray) and a.ndim else np.full(index.size, a)

    x_at, y_at, p_at, w_at, g_at = pick(x), pick(y), pick(p), pick(w), pick(g)
    nan = np.zeros(index.size, dtype=bool)  # a NaN anywhere makes every quantity NaN
    for a in (x_at, y_at, p_at, w_at, g_at):
        if a is not None:
            nan |= np.isnan(a)
    fast = {quantity: brackets[quantity][index] for quantity in out}  # before out changes
    for quantity, values in out.items():
        multiplier = None
        for f in (w_at if _WEIGHTED[quantity] else None, None if quantity == "value" else g_at):
            if f is not None:
                multiplier = _Limit(f) if multiplier is None else multiplier * _Limit(f)
        limit = _special_elements(problem, quantity, fast[quantity], x_at, y_at, p_at, multiplier)
        values[index] = np.where(nan, np.nan, limit)


# -- evaluation -------------------------------------------------------------------------------


def _sum_to_shape(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``values`` (the target's shape) down to a broadcast argument's ``shape``, pairwise:
    the summed axes are moved last and flattened so NumPy's pairwise summation applies."""
    lead = values.ndim - len(shape)
    summed = list(range(lead)) + [
        lead + i for i, n in enumerate(shape) if n == 1 and values.shape[lead + i] != 1
    ]
    kept = [axis for axis in range(values.ndim) if axis not in summed]
    moved = np.transpose(values, kept + summed)
    rows = int(np.prod([values.shape[a] for a in kept], dtype=np.int64))
    columns = int(np.prod([values.shape[a] for a in summed], dtype=np.int64))
    return moved.reshape(rows, columns).sum(axis=1).reshape(shape)  # no -1: empty arrays


def _gradient_scale(problem: _Problem, grad_output: object) -> np.ndarray | np.generic:
    """grad_output in the working precision (flat for 'none'), divided by N for 'mean'."""
    out_shape = problem.shape if problem.reduction == "none" else ()
    if grad_output is None:
        go = np.ones(out_shape, dtype=problem.work)
    else:
        go = np.asarray(grad_output)
        if go.shape != out_shape:
            if go.size != 1:
                raise ValueError(
                    f"grad_output: shape {go.shape} does not match the loss output shape {out_shape}"
                )
            go = np.broadcast_to(go.reshape(()), out_shape)
        go = go.astype(np.float64).astype(problem.work)
    if problem.reduction == "none":
        return np.ascontiguousarray(go).reshape(-1)
    scale = go.reshape(())[()]
    if problem.reduction == "mean" and problem.size:
        scale = scale / problem.work.type(problem.size)
    return scale


def _evaluate(
    problem: _Problem, wrt: Sequence[str], grad_output: object
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    allowed = ("input", "target", "weight") + (("pos_weight",) if problem.function != BCE else ())
    for name in wrt:
        if name not in allowed:
            raise ValueError(f"wrt: {name!r} is not an argument of {problem.function}")
        if problem.argument_shape(name) is None:
            raise ValueError(f"{name}: no {name} was given, so there is no gradient for it")
    wanted = ("value",) + tuple(dict.fromkeys(wrt))
    scale = _gradient_scale(problem, grad_output) if wrt else None
    n, dtype, work = problem.size, problem.dtype, problem.work
    reduced = problem.reduction != "none"
    outputs: dict[str, np.ndarray] = {}
    for name in wanted:
        if name == "value" and reduced:
            continue
        full = name != "value" and problem.argument_shape(name) != problem.shape
        outputs[name] = np.empty(n, dtype=work if full else dtype)

    def task(start: int, stop: int):
        quantities = _block_quantities(problem, start, stop, wanted, scale)
        for name, values in quantities.items():
            if name in outputs:
                target = outputs[name]
                if target.dtype == _BFLOAT16:
                    target[start:stop] = _round_to_bfloat16(values)
                else:  # the cast rounds once, to nearest even (beyond the range: to inf)
                    with np.errstate(over="ignore"):
                        target[start:stop] = values
        if not reduced:
            return None
        with np.errstate(invalid="ignore"):  # +inf + -inf is NaN, as it should be
            return np.sum(quantities["value"])

    partial_sums = _map_blocks(task, n)
    if reduced:
        with np.errstate(all="ignore"):
            total = np.sum(np.array(partial_sums, dtype=work)) + 0
            if problem.reduction == "mean":
                total = total / work.type(n)
        value = _round_to(np.array(total, dtype=work), dtype).reshape(())
    else:
        value = outputs["value"].reshape(problem.shape)
    gradients = {}
    for name in wanted[1:]:
        shape = problem.argument_shape(name)
        flat = outputs[name]
        if flat.dtype == work:  # a broadcast weight: sum its gradient over the repeated axes
            with np.errstate(invalid="ignore"):  # +inf + -inf is NaN, as it should be
                flat = _round_to(_sum_to_shape(flat.reshape(problem.shape), shape) + 0, dtype)
        gradients[name] = flat.reshape(shape)
    return value, gradients


# -- public functions -----------------------------------------------------------------------------


def loss_and_gradients(
    function: str,
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
    wrt: Sequence[str] = (),
    grad_output: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The loss of ``function`` and its gradients with respect to ``wrt`` in one pass.

    All arrays share one dtype (float64, float32, float16 or ml_dtypes.bfloat16); results are in
    it. ``grad_output`` (shape of the loss output, or one element; ones when None) multiplies the
    gradients. Raises ValueError naming the argument for a domain or shape violation or an
    unknown reduction, TypeError for a dtype mismatch or pos_weight given to BCE.
    """
    problem = _prepare(function, input, target, weight, pos_weight, reduction)
    return _evaluate(problem, tuple(wrt), grad_output)


def binary_cross_entropy(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    """``l_n = -w_n [y_n max(log x_n, -100) + (1 - y_n) max(log(1 - x_n), -100)]``, reduced.

    Domain: input and target in [0, 1] (ValueError naming the argument otherwise)."""
    return loss_and_gradients(BCE, input, target, weight, None, reduction)[0]


def binary_cross_entropy_with_logits(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    """``l_n = w_n [p_n y_n softplus(-x_n) + (1 - y_n) softplus(x_n)]``, reduced.

    Domain: every extended real; at infinite arguments the value is the formula's limit."""
    return loss_and_gradients(BCE_WITH_LOGITS, input, target, weight, pos_weight, reduction)[0]


def binary_cross_entropy_gradients(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: str = "mean",
    wrt: Sequence[str] = ("input",),
    grad_output: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Gradients of the reduced ``binary_cross_entropy`` times grad_output, by argument name
    (``input``, ``target``, ``weight``), each shaped like its argument."""
    return loss_and_gradients(BCE, input, target, weight, None, reduction, wrt, grad_output)[1]


def binary_cross_entropy_with_logits_gradients(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: str = "mean",
    wrt: Sequence[str] = ("input",),
    grad_output: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Gradients of the reduced ``binary_cross_entropy_with_logits`` times grad_output, by
    argument name (``input``, ``target``, ``weight``, ``pos_weight``), shaped like each."""
    return loss_and_gradients(
        BCE_WITH_LOGITS, input, target, weight, pos_weight, reduction, wrt, grad_output
    )[1]


# -- backend ------------------------------------------------------------------------------------


def _promoted(call: Call) -> Call:
    """Mixed dtypes: every array widened (exactly) to the promoted dtype — the widest, and
    float32 for float16 with bfloat16 — so the loss comes back in it; the gradients are then
    rounded into their argument's own dtype (within 1 ULP there: a double rounding)."""
    arrays = {n: getattr(call, n) for n in GRADIENT_ARGUMENTS if getattr(call, n) is not None}
    names = {dtype_name(a) for a in arrays.values()}
    if len(names) <= 1:
        return call
    wide = promoted_dtype(names)
    numpy_dtype = {"float64": np.float64, "float32": np.float32}[wide]
    return replace(call, dtype=wide, **{n: a.astype(numpy_dtype) for n, a in arrays.items()})


class NumpyKernelBackend:
    """This module behind the Backend protocol; the module form is the functional form."""

    name = "numpy"
    version = np.__version__
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset(API_FORMS)
    gradients = frozenset(GRADIENT_ARGUMENTS)
    legacy_arguments = True
    layouts = frozenset(LAYOUTS)

    def evaluate(self, call: Call) -> Outcome:
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        own = {n: getattr(call, n).dtype for n in call.grad_wrt if getattr(call, n) is not None}
        call = _promoted(with_layout(call))
        try:
            reduction = call.reduction
            if call.legacy is not None:
                reduction = resolve_reduction(call.reduction, *call.legacy)
            value, grads = loss_and_gradients(
                call.function,
                call.input,
                call.target,
                call.weight,
                call.pos_weight,
                reduction,
                call.grad_wrt,
                call.grad_output,
            )
        except (ValueError, TypeError) as error:
            return Outcome(status="raised", error=f"{type(error).__name__}: {error}")
        except Exception as error:  # a failure of the kernel itself, not a rejection
            return Outcome(status="crashed", error=f"{type(error).__name__}: {error}")
        with np.errstate(over="ignore"):  # rounding into a narrower own dtype may overflow
            grads = {n: g.astype(own[n]) if n in own else g for n, g in grads.items()}
        return Outcome(status="ok", value=value, gradients=grads)
