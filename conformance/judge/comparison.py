"""Comparing a backend's array with the oracle's: ULP distance, condition-aware error, verdict.

Per element, in this order:
1. both NaN, or a ULP distance within the tolerance (±0 are at distance 0; the largest finite
   value and infinity are 1 apart): conforms;
2. one side NaN: ``nan_mismatch``;
3. an infinity on either side: ``inf_mismatch``;
4. otherwise ``value_mismatch`` - unless the element is a sum of terms (a reduction, or an
   element quantity with an inherent cancellation: oracle.cancellation) and its error is inside
   the condition-aware bound (conformance.judge.tolerances), which conforms.
The verdict of the array is that of its worst element (NaN, then inf, then the largest ULP).
The comparison never knows which backend produced the array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from conformance.judge.tolerances import Tolerance, unit_roundoff
from oracle.formats import format_of, ulp_distance


@dataclass
class Comparison:
    verdict: str
    element: tuple[int, ...] | None = None  # worst element
    ulp: float | None = None  # ULP distance at the worst element
    max_ulp: float | None = None  # largest finite ULP distance over the array
    condition_error: float | None = None  # sums of terms: |got - exact| / (u * sum|t|)
    expected: str = ""
    got: str = ""


_VERDICTS = ("conforms", "value_mismatch", "inf_mismatch", "nan_mismatch")  # by severity


def element_severities(
    expected: np.ndarray, got: np.ndarray, tol: Tolerance
) -> tuple[np.ndarray, np.ndarray]:
    """Rules 1-3 and the ULP part of rule 4 for every element of two flat arrays of one dtype:
    (int8 array of severities, indices into ``_VERDICTS``; float64 array of ULP distances)."""
    ulps = ulp_distance(expected, got)
    e64 = expected.astype(np.float64)
    g64 = got.astype(np.float64)
    bad = ulps > tol.max_ulp
    severity = bad.astype(np.int8)
    severity[bad & (np.isinf(e64) | np.isinf(g64))] = 2
    severity[bad & (np.isnan(e64) ^ np.isnan(g64))] = 3
    return severity, ulps


def element_verdicts(
    expected: np.ndarray, got: np.ndarray, tol: Tolerance
) -> tuple[np.ndarray, np.ndarray]:
    """Rules 1-3 and the ULP part of rule 4 for every element of two flat arrays of one dtype:
    (object array of verdicts, float64 array of ULP distances)."""
    severity, ulps = element_severities(expected, got, tol)
    return np.array(_VERDICTS, dtype=object)[severity], ulps


def compare(
    expected: np.ndarray,
    exact: np.ndarray | Callable[[], np.ndarray],
    got: np.ndarray,
    tol: Tolerance,
    abs_terms: np.ndarray | None = None,
    n_terms: int | None = None,
) -> Comparison:
    """Compare ``got`` with the correctly rounded ``expected`` (same dtype) element by element.

    ``exact`` (the exact forms, or a callable making them) is needed only for a reduced element
    whose ULP distance is beyond the tolerance: a callable is not called otherwise."""
    if got.shape != expected.shape or got.dtype != expected.dtype:
        return Comparison(
            verdict="shape_mismatch" if got.shape != expected.shape else "dtype_mismatch",
            expected=f"{expected.dtype}{list(expected.shape)}",
            got=f"{got.dtype}{list(got.shape)}",
        )
    if expected.size == 0:
        return Comparison(verdict="conforms", max_ulp=0.0)
    shape = expected.shape
    exp_flat, got_flat = expected.reshape(-1), got.reshape(-1)
    severity, ulps = element_severities(exp_flat, got_flat, tol)
    g64 = got_flat.astype(np.float64)
    e64 = exp_flat.astype(np.float64)
    condition_errors: dict[int, float] = {}
    if abs_terms is not None:
        # Sums of terms: within the bound of a correct pairwise summation, they conform.
        scales = unit_roundoff(format_of(expected.dtype).name) * np.broadcast_to(
            abs_terms, shape
        ).reshape(-1)
        bound = tol.condition_bound(n_terms or 1)
        exact_flat = None
        for i in np.flatnonzero((severity == 1) & (scales > 0)):
            if exact_flat is None:
                exact_flat = (exact() if callable(exact) else exact).reshape(-1)
            error = abs(float(g64[i]) - exact_flat[i].approximate())
            condition_errors[int(i)] = float(error / scales[i])
            if condition_errors[int(i)] <= bound:
                severity[i] = 0
    finite_ulps = np.where(np.isfinite(ulps), ulps, -1.0)
    # The worst element: the highest severity, then the largest ULP distance, then the last.
    candidates = np.flatnonzero(severity == severity.max())
    ulps_there = finite_ulps[candidates]
    worst = int(candidates[ulps_there.size - 1 - int(np.argmax(ulps_there[::-1]))])
    return Comparison(
        verdict=_VERDICTS[severity[worst]],
        element=tuple(int(i) for i in np.unravel_index(worst, shape)) if shape else (),
        ulp=float(ulps[worst]),
        max_ulp=max(float(finite_ulps.max()), 0.0),
        condition_error=condition_errors.get(worst),
        expected=repr(float(e64[worst])),
        got=repr(float(g64[worst])),
    )
