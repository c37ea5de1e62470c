"""A chunk's statistics look one by one only at the results whose bit patterns differ from the
correct rounding; they must equal a count over every element of the chunk."""

from __future__ import annotations

import json
import math

import ml_dtypes
import numpy as np
import pytest

from conformance.hunt.sweep import HISTOGRAM, chunk_stats
from oracle.formats import format_of, ulp_distance

_EDGES = np.array([0.5, 1.5, 2.5, 4.5, 16.5, 256.5])  # the buckets of HISTOGRAM


def _point(x, e, g, i, fmt, ulp):
    bits = int(x.view(fmt.uint_dtype)[i])
    return {
        "input": f"0x{bits:0{fmt.width // 4}x}",
        "input_value": repr(float(x[i])),
        "expected": repr(float(e[i])),
        "got": repr(float(g[i])),
        "ulp": ulp if math.isfinite(ulp) else None,
    }


def _every_element(x, e, g, tol):
    """The statistics as the module docstring defines them, element by element."""
    fmt = format_of(e.dtype)
    ulps = ulp_distance(e, g)
    with np.errstate(invalid="ignore"):
        e64, g64 = e.astype(np.float64), g.astype(np.float64)
    nan = np.isnan(e64) ^ np.isnan(g64)
    finite = np.where(nan, -1.0, ulps)
    out = {
        "count": x.size,
        "not_correctly_rounded": int(np.sum(ulps > 0)),
        "beyond_tolerance": int(np.sum(ulps > tol)),
        "nan_mismatch": int(np.sum(nan)),
        "inf_mismatch": int(np.sum(~nan & (ulps > tol) & (np.isinf(e64) | np.isinf(g64)))),
        "max_ulp": max(0.0, float(finite.max())) if x.size else 0.0,
        "worst": None,
        "max_relative_error": None,
    }
    buckets = np.searchsorted(_EDGES, ulps[~nan])
    out["histogram"] = [int(np.sum(buckets == k)) for k in range(len(HISTOGRAM) - 1)] + [
        int(np.sum(nan))
    ]
    binade = np.array([int(b) >> (fmt.precision - 1) for b in x.view(fmt.uint_dtype).tolist()],
                      dtype=object)  # fmt: skip
    shift = fmt.width - fmt.precision
    out["by_binade"] = {
        f"{k >> shift}:{k & ((1 << shift) - 1)}": [
            int(np.sum(binade == k)),
            int(np.sum((binade == k) & (ulps > 0))),
            float(max(0.0, *np.where(nan, 0.0, ulps)[binade == k])),
            int(np.sum((binade == k) & nan)),
        ]
        for k in sorted(set(binade.tolist()))
    }
    if x.size:
        i = int(np.flatnonzero(nan)[0]) if nan.any() else int(np.argmax(finite))
        if ulps[i] > 0:
            out["worst"] = _point(x, e, g, i, fmt, float(ulps[i]))
        with np.errstate(all="ignore"):
            rel = np.abs(g64 - e64) / np.abs(e64)
        rel = np.where(np.isfinite(rel) & (e64 != 0), rel, -1.0)
        j = int(np.argmax(rel))
        if rel[j] > 0:
            out["max_relative_error"] = {"value": float(rel[j]),
                                         **_point(x, e, g, j, fmt, float(ulps[j]))}  # fmt: skip
    return out


def _random_chunk(rng, dtype, n):
    """Inputs of random (sometimes sorted, sometimes one) bit patterns; results off by one ULP,
    a sign, ±0, NaN payloads or random patterns."""
    fmt = format_of(dtype)
    u = np.dtype(fmt.uint_dtype).type
    top = 2**fmt.width - 1
    x = rng.integers(0, top, n, dtype=np.uint64, endpoint=True).astype(u)
    if rng.random() < 0.3:
        x = np.sort(x)
    if rng.random() < 0.2 and n:
        x[:] = x[0]
    e = rng.integers(0, top, n, dtype=np.uint64, endpoint=True).astype(u)
    g = e.copy()
    k = rng.random(n)
    g[k < 0.3] += u(1)
    g[(k >= 0.3) & (k < 0.4)] ^= u(fmt.sign_bit)
    pick = (k >= 0.4) & (k < 0.5)
    g[pick] = rng.integers(0, top, int(pick.sum()), dtype=np.uint64, endpoint=True).astype(u)
    zeros = (k >= 0.5) & (k < 0.55)
    e[zeros], g[zeros] = u(0), u(fmt.sign_bit)
    return x.view(dtype), e.view(dtype), g.view(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, ml_dtypes.bfloat16])
def test_the_statistics_of_a_chunk_are_those_of_every_element(dtype):
    rng = np.random.default_rng(20261207)
    for _ in range(400):
        x, e, g = _random_chunk(rng, np.dtype(dtype), int(rng.integers(0, 50)))
        tol = float(rng.choice([0, 1, 2, 1e9]))
        with np.errstate(invalid="ignore"):
            got = chunk_stats(x, e, g, tol)
        assert json.dumps(got) == json.dumps(_every_element(x, e, g, tol))
