"""What the oracle says a case must produce: correctly rounded values and gradients, or an error.

Quantities are named ``value`` and ``grad_<argument>``. Gradients are those of the reduced loss
times the case's upstream gradient (``grad_output``, ones when the case has none). For a reduced
value the expectation also carries ``sum |terms|`` (divided by N for a mean: the scale of the
result itself), the scale of the condition-aware error bound of the comparison; so does an
element quantity where its terms cancel inherently (oracle.cancellation).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import oracle
from conformance.cases import Case, argument_dtype, result_dtype
from oracle.broadcasting import sum_to_shape


@dataclass
class Expected:
    rounded: np.ndarray  # in the case's dtype
    # object array of Ext, or a callable making it: exact forms are built only when a
    # comparison or a report needs them (the oracle's fast path decides the rounding alone)
    exact_source: Any
    abs_terms: np.ndarray | None = None  # per result element: sum |terms| it reduces
    n_terms: int = 1  # how many terms each result element sums
    magnitudes: np.ndarray | None = None  # reductions: |element terms| (float64), target-shaped
    # Mixed dtypes: the correct rounding into each accepted result dtype (by dtype name).
    alternatives: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def exact(self) -> np.ndarray:
        if callable(self.exact_source):
            self.exact_source = self.exact_source()
        return self.exact_source


@dataclass
class Expectation:
    error: str | None = None  # "OracleDomainError: ..." when the contract is violated
    unsupported_point: str | None = None  # the oracle does not decide this point
    quantities: dict[str, Expected] = field(default_factory=dict)

    @property
    def raises(self) -> bool:
        return self.error is not None


def gradient_arguments(case: Case) -> tuple[str, ...]:
    """Arguments of a case that have gradients: input, target, and weights that were given."""
    return ("input", "target") + tuple(
        n for n in ("weight", "pos_weight") if getattr(case, n) is not None
    )


def _oracle_call(case: Case) -> oracle.LossResult:
    kwargs = {"weight": case.weight, "reduction": case.reduction}
    if case.legacy is not None:
        kwargs["size_average"], kwargs["reduce"] = case.legacy
    if case.function == "binary_cross_entropy":
        return oracle.binary_cross_entropy(case.input, case.target, **kwargs)
    return oracle.binary_cross_entropy_with_logits(
        case.input, case.target, pos_weight=case.pos_weight, **kwargs
    )


def violates_contract(case: Case) -> bool:
    """Whether the oracle raises for ``case`` (its domain and shape checks alone: cheap), i.e.
    whether ``expect(case).raises``."""
    try:
        _oracle_call(case)
    except oracle.OracleError:
        return True
    return False


_CACHE: dict[tuple[bytes, tuple[str, ...]], Expectation] = {}
_CACHE_SIZE = 4096
_LARGE = 4096
_LARGE_CACHE: dict = {}
_LARGE_CACHE_SIZE = 16


def expect(case: Case, gradients: tuple[str, ...] = ()) -> Expectation:
    """The oracle's expectation for ``case`` (value and the named gradients), memoised."""
    if case.recipe is not None:  # large reductions: a few kept, by recipe (memory)
        key = (repr(sorted(case.recipe.items())) + case.function + case.dtype + case.reduction
               + repr(case.grad_output)).encode(), tuple(gradients)  # fmt: skip
        if key not in _LARGE_CACHE:
            if len(_LARGE_CACHE) >= _LARGE_CACHE_SIZE:
                _LARGE_CACHE.clear()
            _LARGE_CACHE[key] = _compute(case, tuple(gradients))
        return _LARGE_CACHE[key]
    if case.target.size > _LARGE:  # other large cases: never kept (memory)
        return _compute(case, tuple(gradients))
    key = (case.key(), tuple(gradients))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = _compute(case, tuple(gradients))
    return _CACHE[key]


def _allow_cancellation(quantity: Expected, scale: np.ndarray | None) -> None:
    """Judge an element quantity by the condition-aware bound of its two terms where they
    cancel (oracle.cancellation): where ``sum |T_j| >= 2 |q|``. Elsewhere the scale is 0 and
    the ULP tolerance alone judges it."""
    if scale is None:
        return
    with np.errstate(all="ignore"):
        magnitude = np.abs(quantity.rounded.astype(np.float64))
        cancels = np.isfinite(magnitude) & (scale >= 2 * magnitude)
    if cancels.any():
        quantity.abs_terms = np.where(cancels, scale, 0.0)
        quantity.n_terms = 2


def _compute(case: Case, gradients: tuple[str, ...]) -> Expectation:
    if case.recipe is not None:
        from conformance.hunt.large import large_expectation

        return large_expectation(case, gradients)
    go = case.grad_output
    try:
        result = _oracle_call(case)
        promoted = result_dtype(case)
        value = Expected(result.rounded(promoted), result.exact)
        if case.argument_dtypes:  # promotion, or the input's dtype: both accepted
            value.alternatives = {d: result.rounded(d) for d in {promoted, case.dtype}}
        if result.reduction != "none":
            value.magnitudes = np.asarray(result.magnitudes(), dtype=np.float64)
            n = int(value.magnitudes.size)
            total = float(np.sum(value.magnitudes))
            value.abs_terms = np.array(total / n if result.reduction == "mean" and n else total)
            value.n_terms = n
        else:
            _allow_cancellation(value, result.cancellation_scale("value"))
        quantities = {"value": value}
        for wrt in gradients:
            own = argument_dtype(case, wrt)
            grad = Expected(
                result.gradient(wrt, own, go), lambda wrt=wrt: result.gradient_exact(wrt, go)
            )
            if case.argument_dtypes:  # the argument's own dtype, or the promoted one
                grad.alternatives = {d: result.gradient(wrt, d, go) for d in {own, promoted}}
            if tuple(result.argument_shapes[wrt]) != tuple(
                result.target_shape
            ):  # summed over broadcast axes
                magnitudes = np.asarray(result.contribution_magnitudes(wrt, go), dtype=np.float64)
                shape = tuple(result.argument_shapes[wrt])
                grad.abs_terms = sum_to_shape(magnitudes, shape, operator.add, 0.0).astype(
                    np.float64
                )
                grad.n_terms = max(
                    1, magnitudes.size // max(1, int(np.prod(shape, dtype=np.int64)))
                )
            else:
                _allow_cancellation(grad, result.cancellation_scale(wrt, go))
            quantities[f"grad_{wrt}"] = grad
        return Expectation(quantities=quantities)
    except oracle.UnsupportedPointError as exc:
        return Expectation(unsupported_point=str(exc))
    except oracle.UncertifiedError:
        raise
    except oracle.OracleError as exc:
        return Expectation(error=f"{type(exc).__name__}: {exc}")
