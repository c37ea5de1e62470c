"""The result of an oracle call: exact values, their correct rounding, and exact gradients.

``mean`` is the exact sum divided by N, the number of elements of the unreduced loss ("the sum of
the output will be divided by the number of elements in the output"), not by the sum of the
weights; the mean of an empty loss is NaN (0/0) and its sum is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

from oracle.broadcasting import sum_to_shape
from oracle.errors import OracleDomainError, OracleShapeError
from oracle.exact_input import read_exact
from oracle.extended import ZERO, Ext, ext_sum
from oracle.formats import format_of, from_bits

QuantityFn = Callable[[str, int], Ext]


def _rounded_array(values: np.ndarray, dtype: object) -> np.ndarray:
    fmt = format_of(dtype)
    bits = [v.rounded_bits(fmt) for v in values.reshape(-1)]
    return from_bits(np.array(bits, dtype=fmt.uint_dtype), fmt).reshape(values.shape)


class LossResult:
    """Exact loss values of one call; gradients are computed on demand and cached."""

    def __init__(
        self,
        function: str,
        reduction: str,
        target_shape: tuple[int, ...],
        argument_shapes: dict[str, tuple[int, ...] | None],
        quantity: QuantityFn,
    ):
        self.function = function
        self.reduction = reduction
        self.target_shape = tuple(target_shape)
        self.argument_shapes = argument_shapes
        self._quantity = quantity
        self._size = int(np.prod(self.target_shape, dtype=np.int64))
        elements = np.empty(self.target_shape, dtype=object)
        elements.reshape(-1)[:] = [quantity("value", i) for i in range(self._size)]
        self.elements = elements
        self._gradients: dict[tuple, np.ndarray] = {}

    # -- values ------------------------------------------------------------------------------
    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.target_shape if self.reduction == "none" else ()

    def _mean_factor(self) -> Fraction | None:
        """1/N for mean (None when N == 0), 1 for sum and none."""
        if self.reduction != "mean":
            return Fraction(1)
        return Fraction(1, self._size) if self._size else None

    def exact(self) -> np.ndarray:
        """Object array (0-d after a reduction) of exact Ext values."""
        if self.reduction == "none":
            return self.elements
        out = np.empty((), dtype=object)
        factor = self._mean_factor()
        total = ext_sum(self.elements.reshape(-1))
        out[()] = Ext.nan() if factor is None else total.scale(factor)
        return out

    def rounded(self, dtype: object) -> np.ndarray:
        """The correctly rounded value(s) as a NumPy array of ``dtype``."""
        return _rounded_array(self.exact(), dtype)

    # -- gradients ---------------------------------------------------------------------------
    def _grad_output(self, grad_output: object) -> np.ndarray:
        shape = self.output_shape
        if grad_output is None:
            values = np.empty(shape, dtype=object)
            values.reshape(-1)[:] = [Fraction(1)] * int(np.prod(shape, dtype=np.int64))
            return values
        values = read_exact(grad_output, "grad_output")
        if values.shape != shape:
            if values.size != 1:
                raise OracleShapeError(
                    f"grad_output: shape {values.shape} does not match the loss output shape {shape}"
                )
            values = np.full(shape, values.reshape(-1)[0], dtype=object)
        if any(not isinstance(v, Fraction) for v in values.reshape(-1)):
            raise OracleDomainError("grad_output: must be finite")
        return values

    def gradient_exact(self, wrt: str, grad_output: object = None) -> np.ndarray:
        """Exact gradient of the reduced loss (times ``grad_output``) with respect to ``wrt``."""
        if wrt not in self.argument_shapes:
            known = ", ".join(self.argument_shapes)
            raise OracleDomainError(f"wrt: {wrt!r} is not an argument of {self.function} ({known})")
        arg_shape = self.argument_shapes[wrt]
        if arg_shape is None:
            raise OracleDomainError(f"{wrt}: no {wrt} was given, so there is no gradient for it")
        go = self._grad_output(grad_output)
        key = (wrt, tuple(go.reshape(-1)))
        if key in self._gradients:
            return self._gradients[key]
        contributions = self.gradient_contributions(wrt, grad_output)
        if wrt in ("input", "target"):
            result = contributions
        else:
            result = sum_to_shape(contributions, arg_shape, Ext.__add__, ZERO)
        self._gradients[key] = result
        return result

    def gradient_contributions(self, wrt: str, grad_output: object = None) -> np.ndarray:
        """Per element of the unreduced loss (target-shaped), that element's exact contribution
        to the gradient with respect to ``wrt``; a broadcast argument's gradient is their sum
        over the broadcast axes."""
        go = self._grad_output(grad_output).reshape(-1)
        factor = self._mean_factor()
        contributions = np.empty(self.target_shape, dtype=object)
        flat = contributions.reshape(-1)
        for i in range(self._size):
            g = go[i if self.reduction == "none" else 0]
            flat[i] = self._quantity(wrt, i).scale(g * factor)
        return contributions

    def gradient(self, wrt: str, dtype: object, grad_output: object = None) -> np.ndarray:
        """The correctly rounded gradient with respect to ``wrt``, shaped like that argument."""
        return _rounded_array(self.gradient_exact(wrt, grad_output), dtype)
