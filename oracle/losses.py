"""The public loss functions of the oracle and their module forms (BCELoss, BCEWithLogitsLoss).

Arguments are read exactly (see oracle.exact_input); the result is a LossResult whose
``rounded(dtype)`` and ``gradient(wrt, dtype, grad_output)`` are correctly rounded and proved.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from oracle.bce_logits_terms import logits_quantity
from oracle.bce_terms import bce_quantity
from oracle.broadcasting import broadcast_to_target, check_same_shape
from oracle.errors import OracleDomainError
from oracle.inputs import ExactArray, read_argument
from oracle.reduction import resolve_reduction
from oracle.result import ElementInputs, LossResult


def _check_unit_interval(arg: ExactArray, name: str) -> None:
    """OracleDomainError unless every value is in [0, 1] (NaN is outside)."""
    inside = (arg.floats >= 0) & (arg.floats <= 1)
    if arg.all_exact:
        bad = ~inside
    else:
        objects = arg.objects()
        bad = np.array(
            [not (isinstance(v, Fraction) and 0 <= v <= 1) for v in objects.reshape(-1)],
            dtype=bool,
        ).reshape(arg.shape)
    if bad.any():
        first = float(arg.floats[bad].reshape(-1)[0])
        raise OracleDomainError(f"{name}: all elements should be between 0 and 1, got {first!r}")


def _broadcast(arg: object, name: str, target_shape: tuple[int, ...]):
    """(the argument broadcast to the target's shape and flattened, its own shape)."""
    if arg is None:
        return None, None
    values = read_argument(arg, name)
    broadcast_to_target(values.shape, target_shape, name)
    return values.broadcast(target_shape), values.shape


def _read_pair(input: object, target: object) -> tuple[ExactArray, ExactArray]:
    x = read_argument(input, "input")
    y = read_argument(target, "target")
    check_same_shape(x.shape, y.shape)
    return x, y


def binary_cross_entropy(
    input: object,
    target: object,
    weight: object = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> LossResult:
    """Exact ``binary_cross_entropy`` (torch.nn.functional signature).

    ``l_n = -w_n [y_n max(log x_n, -100) + (1 - y_n) max(log(1 - x_n), -100)]``, then
    none | mean | sum. Domain: every input and target value in [0, 1] (NaN is outside).
    """
    reduction = resolve_reduction(reduction, size_average, reduce)
    x, y = _read_pair(input, target)
    _check_unit_interval(x, "input")
    _check_unit_interval(y, "target")
    w, w_shape = _broadcast(weight, "weight", y.shape)
    inputs = ElementInputs(x.broadcast(y.shape), y.broadcast(y.shape), w, None)
    one = Fraction(1)

    def quantity(name: str, i: int):
        return bce_quantity(
            name, inputs.x.exact(i), inputs.y.exact(i), one if w is None else w.exact(i)
        )

    shapes = {"input": x.shape, "target": y.shape, "weight": w_shape}
    return LossResult("binary_cross_entropy", reduction, y.shape, shapes, quantity, inputs)


def binary_cross_entropy_with_logits(
    input: object,
    target: object,
    weight: object = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: object = None,
) -> LossResult:
    """Exact ``binary_cross_entropy_with_logits`` (torch.nn.functional signature).

    ``l_n = -w_n [p_n y_n log sigma(x_n) + (1 - y_n) log(1 - sigma(x_n))]`` with ``pos_weight``
    p broadcast against the target, then none | mean | sum. Every real value is in the domain.
    """
    reduction = resolve_reduction(reduction, size_average, reduce)
    x, y = _read_pair(input, target)
    w, w_shape = _broadcast(weight, "weight", y.shape)
    p, p_shape = _broadcast(pos_weight, "pos_weight", y.shape)
    inputs = ElementInputs(x.broadcast(y.shape), y.broadcast(y.shape), w, p)
    one = Fraction(1)

    def quantity(name: str, i: int):
        wi = one if w is None else w.exact(i)
        pi = one if p is None else p.exact(i)
        return logits_quantity(name, inputs.x.exact(i), inputs.y.exact(i), wi, pi)

    _check_decided_points(inputs, quantity)
    shapes = {"input": x.shape, "target": y.shape, "weight": w_shape, "pos_weight": p_shape}
    return LossResult(
        "binary_cross_entropy_with_logits", reduction, y.shape, shapes, quantity, inputs
    )


def _check_decided_points(inputs: ElementInputs, quantity) -> None:
    """UnsupportedPointError (from the exact quantity) at the first element with two or more
    infinite arguments among x, y, p and no NaN: the oracle does not decide those points."""
    n = inputs.x.floats.size
    args = [a for a in (inputs.x, inputs.y, inputs.p) if a is not None]
    if all(a.all_exact and np.isfinite(a.floats).all() for a in args):
        return  # no infinite argument anywhere

    def floats(arg) -> np.ndarray:  # values that are not binary64 numbers are finite
        return np.ones(n) if arg is None else np.where(arg.exact_mask, arg.floats, 1.0)

    x, y, w, p = (floats(a) for a in (inputs.x, inputs.y, inputs.w, inputs.p))
    infinite = np.isinf(x).astype(int) + np.isinf(y) + np.isinf(p)
    nan = np.isnan(x) | np.isnan(y) | np.isnan(p) | np.isnan(w)
    bad = np.flatnonzero((infinite > 1) & ~nan)
    if bad.size:
        quantity("value", int(bad[0]))


class BCELoss:
    """Module form: ``BCELoss(weight, size_average, reduce, reduction)(input, target)``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        self.weight = weight
        self.reduction = resolve_reduction(reduction, size_average, reduce)

    def __call__(self, input: object, target: object) -> LossResult:
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss:
    """Module form: ``BCEWithLogitsLoss(weight, size_average, reduce, reduction, pos_weight)``."""

    def __init__(
        self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None
    ):
        self.weight = weight
        self.pos_weight = pos_weight
        self.reduction = resolve_reduction(reduction, size_average, reduce)

    def __call__(self, input: object, target: object) -> LossResult:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
