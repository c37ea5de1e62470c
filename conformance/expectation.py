"""What the oracle says a case must produce: correctly rounded values and gradients, or an error.

Quantities are named ``value`` and ``grad_<argument>``. Gradients use the default upstream
gradient (ones). For a reduced value the expectation also carries ``sum |terms|``, the scale of
the condition-aware error bound of the comparison.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np

import oracle
from conformance.cases import Case
from oracle.broadcasting import sum_to_shape
from oracle.extended import Ext


@dataclass
class Expected:
    rounded: np.ndarray  # in the case's dtype
    exact: np.ndarray  # object array of Ext
    abs_terms: np.ndarray | None = None  # per result element: sum |terms| it reduces
    n_terms: int = 1  # how many terms each result element sums
    terms: np.ndarray | None = None  # the unreduced element terms (Ext), for reductions


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


def abs_value(v: Ext) -> float:
    return abs(v.approximate())


def _oracle_call(case: Case) -> oracle.LossResult:
    kwargs = {"weight": case.weight, "reduction": case.reduction}
    if case.legacy is not None:
        kwargs["size_average"], kwargs["reduce"] = case.legacy
    if case.function == "binary_cross_entropy":
        return oracle.binary_cross_entropy(case.input, case.target, **kwargs)
    return oracle.binary_cross_entropy_with_logits(
        case.input, case.target, pos_weight=case.pos_weight, **kwargs
    )


_CACHE: dict[tuple[bytes, tuple[str, ...]], Expectation] = {}
_CACHE_SIZE = 4096


def expect(case: Case, gradients: tuple[str, ...] = ()) -> Expectation:
    """The oracle's expectation for ``case`` (value and the named gradients), memoised."""
    key = (case.key(), tuple(gradients))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = _compute(case, tuple(gradients))
    return _CACHE[key]


def _compute(case: Case, gradients: tuple[str, ...]) -> Expectation:
    try:
        result = _oracle_call(case)
        exact = result.exact()
        value = Expected(result.rounded(case.dtype), exact)
        if result.reduction != "none":
            value.terms = result.elements
            value.abs_terms = np.array(sum(abs_value(v) for v in result.elements.reshape(-1)))
            value.n_terms = int(result.elements.size)
        quantities = {"value": value}
        for wrt in gradients:
            g_exact = result.gradient_exact(wrt)
            grad = Expected(result.gradient(wrt, case.dtype), g_exact)
            if g_exact.shape != result.target_shape:  # summed over broadcast axes
                magnitudes = np.vectorize(abs_value, otypes=[np.float64])(
                    result.gradient_contributions(wrt)
                )
                grad.abs_terms = sum_to_shape(magnitudes, g_exact.shape, operator.add, 0.0).astype(
                    np.float64
                )
                grad.n_terms = max(1, magnitudes.size // max(1, g_exact.size))
            quantities[f"grad_{wrt}"] = grad
        return Expectation(quantities=quantities)
    except oracle.UnsupportedPointError as exc:
        return Expectation(unsupported_point=str(exc))
    except oracle.UncertifiedError:
        raise
    except oracle.OracleError as exc:
        return Expectation(error=f"{type(exc).__name__}: {exc}")
