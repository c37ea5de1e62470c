"""The fast path gives exactly the exact path's answers: both are correct roundings, so any
difference is a bug in one of them.

For each function, format (float32, float16, bfloat16, and float64 on fewer elements: its exact
path is slow), reduction (none, sum, mean) and
quantity (the value and every gradient, with the default and a random upstream gradient), the
same call is answered twice, with the fast path on and off, and the bit patterns must be equal.
Broadcast weights (one per column) exercise grouped sums.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import oracle
from oracle import fast
from oracle.formats import format_of
from tests.oracle_fast import points

FUNCTIONS = ("binary_cross_entropy", "binary_cross_entropy_with_logits")
DTYPES = {
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
    "float64": np.float64,
}
ROWS = {"float64": 12}
REDUCTIONS = ("none", "sum", "mean")


def _call(function, args, dtype, reduction, enabled, broadcast):
    fast.set_enabled(enabled)
    try:
        kw = {"reduction": reduction}
        w = args["w"]
        if broadcast:
            w = w[: args["x"].shape[1]]
        kw["weight"] = w.astype(dtype)
        if "p" in args:
            kw["pos_weight"] = args["p"].astype(dtype)
        r = getattr(oracle, function)(args["x"].astype(dtype), args["y"].astype(dtype), **kw)
        wrts = ["input", "target", "weight"] + (["pos_weight"] if "p" in args else [])
        out = {"value": r.rounded(dtype)}
        for wrt in wrts:
            out[wrt] = r.gradient(wrt, dtype)
            go = args["g"] if reduction == "none" else args["g"].reshape(-1)[:1].reshape(())
            out[wrt + "*g"] = r.gradient(wrt, dtype, grad_output=go.astype(dtype))
        return out
    finally:
        fast.set_enabled(True)


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).view(np.uint8).tobytes()


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fast_path_equals_exact_path_bit_for_bit(function, dtype, reduction):
    rng = np.random.default_rng(abs(hash((function, dtype, reduction))) % 2**32)
    rows, cols = ROWS.get(dtype, 60), 5
    args = {
        k: v.reshape(rows, cols)
        for k, v in points.arguments(function, rng, rows * cols, dtype).items()
    }
    if "p" in args:
        args["p"] = args["p"][0]  # pos_weight broadcast over rows
    args["w"] = args["w"].reshape(-1)
    args["g"] = points.cast(rng.standard_normal((rows, cols)), dtype)
    for broadcast in (False, True):
        if not broadcast:
            args_b = dict(args, w=args["w"].reshape(rows, cols))
        else:
            args_b = args
        before = dict(fast.STATS)
        on = _call(function, args_b, DTYPES[dtype], reduction, True, broadcast)
        decided_fast = fast.STATS["fast"] - before["fast"]
        off = _call(function, args_b, DTYPES[dtype], reduction, False, broadcast)
        for q in on:
            assert _bits(on[q]) == _bits(off[q]), (q, broadcast, on[q], off[q])
        assert decided_fast > 0  # the fast path really answered


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_bce_exact_zeros_are_decided_as_plus_zero(dtype, reduction):
    """x = 1/2 (target), x = y (input), x = y in {0, 1} (value, weight), clamped x with y = 1 and
    x = 1 with y = 0 (input): the fast path decides these exact zeros as +0, like the exact path."""
    x = np.array([0.5, 0.25, 0.75, 0.0, 1.0, 0.0, 1.0, 0.5, 0.3])
    y = np.array([0.1, 0.25, 0.75, 0.0, 1.0, 1.0, 0.0, 0.5, 0.7])
    args = {"x": x, "y": y, "w": np.linspace(0.5, 2.0, x.size), "g": -np.ones(x.size)}
    fast_out = _call("binary_cross_entropy", args, DTYPES[dtype], reduction, True, False)
    exact_out = _call("binary_cross_entropy", args, DTYPES[dtype], reduction, False, False)
    for q in fast_out:
        assert _bits(fast_out[q]) == _bits(exact_out[q]), q
    zeros = {"value": [3, 4], "weight": [3, 4], "target": [0, 7], "input": [1, 2, 5, 6, 7]}
    for q, where in zeros.items():
        enc = fast.enclose_arrays("binary_cross_entropy", q, x, y)
        assert (enc.lo[where] == 0).all() and (enc.hi[where] == 0).all(), q
        decided, bits = fast.decide(enc.lo, enc.hi, enc.ok, format_of(DTYPES[dtype]))
        assert decided[where].all() and (bits[where] == 0).all(), q


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
def test_bce_log_table_equals_the_direct_enclosures(fmt):
    from oracle.fast import bce

    values = bce._format_values(fmt)
    assert values[0] == 0 and values[-1] == 1 and (np.diff(values) > 0).all()
    assert bce._narrow_patterns(values)[0] == fmt
    assert bce._narrow_patterns(np.array([-0.0, 0.5])) is None  # -0 is not in the table
    for tabled, direct in zip(bce._logs(values), bce._logs_direct(values), strict=True):
        for a, b in zip(tabled, direct, strict=True):
            assert _bits(a) == _bits(b)
