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
from oracle.exact_input import read_exact
from oracle.reduction import resolve_reduction
from oracle.result import LossResult


def _in_unit_interval(v: Fraction | float) -> bool:
    return isinstance(v, Fraction) and 0 <= v <= 1


def _broadcast_flat(arg: object, name: str, target_shape: tuple[int, ...]):
    """(flat exact values broadcast to the target's shape, the argument's own shape)."""
    if arg is None:
        return None, None
    values = read_exact(arg, name)
    broadcast_to_target(values.shape, target_shape, name)
    return np.broadcast_to(values, target_shape).reshape(-1), values.shape


def _read_pair(input: object, target: object):
    x = read_exact(input, "input")
    y = read_exact(target, "target")
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
    for name, values in (("input", x), ("target", y)):
        bad = [v for v in values.reshape(-1) if not _in_unit_interval(v)]
        if bad:
            raise OracleDomainError(
                f"{name}: all elements should be between 0 and 1, got {float(bad[0])!r}"
            )
    w_flat, w_shape = _broadcast_flat(weight, "weight", y.shape)
    xf, yf = x.reshape(-1), y.reshape(-1)
    one = Fraction(1)

    def quantity(name: str, i: int):
        return bce_quantity(name, xf[i], yf[i], one if w_flat is None else w_flat[i])

    shapes = {"input": x.shape, "target": y.shape, "weight": w_shape}
    return LossResult("binary_cross_entropy", reduction, y.shape, shapes, quantity)


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
    w_flat, w_shape = _broadcast_flat(weight, "weight", y.shape)
    p_flat, p_shape = _broadcast_flat(pos_weight, "pos_weight", y.shape)
    xf, yf = x.reshape(-1), y.reshape(-1)
    one = Fraction(1)

    def quantity(name: str, i: int):
        w = one if w_flat is None else w_flat[i]
        p = one if p_flat is None else p_flat[i]
        return logits_quantity(name, xf[i], yf[i], w, p)

    shapes = {"input": x.shape, "target": y.shape, "weight": w_shape, "pos_weight": p_shape}
    return LossResult("binary_cross_entropy_with_logits", reduction, y.shape, shapes, quantity)


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
