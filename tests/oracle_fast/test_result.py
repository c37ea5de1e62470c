"""LossResult's caches and float magnitudes: equal elements are computed once, every format is
served from one set of enclosures, and the magnitudes are those of the exact values."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
import oracle.losses
from oracle import fast
from tests.oracle_fast import points


def _approx_abs(values: np.ndarray) -> np.ndarray:
    """|v| from a 240-bit evaluation (Ext.approximate's 64 bits lose digits where logs cancel)."""
    flat = [abs(float(v.decimal(60))) for v in values.reshape(-1)]
    return np.array(flat).reshape(values.shape)


@pytest.mark.parametrize("function", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_magnitudes_are_the_absolute_exact_values(function):
    rng = np.random.default_rng(5)
    args = points.arguments(function, rng, 300, "float32")
    kw = {"weight": args["w"].astype(np.float32), "reduction": "mean"}
    if "p" in args:
        kw["pos_weight"] = args["p"].astype(np.float32)
    r = getattr(oracle, function)(args["x"].astype(np.float32), args["y"].astype(np.float32), **kw)
    np.testing.assert_allclose(r.magnitudes(), _approx_abs(r.elements), rtol=1e-9, atol=0)
    for wrt in ("input", "weight"):
        want = _approx_abs(r.gradient_contributions(wrt))
        np.testing.assert_allclose(r.contribution_magnitudes(wrt), want, rtol=1e-9, atol=0)


def test_broadcast_weight_contributions_have_the_targets_shape():
    x = np.zeros((4, 3), np.float32)
    r = oracle.binary_cross_entropy_with_logits(
        x, x, weight=np.ones(3, np.float32), reduction="sum"
    )
    assert r.contribution_magnitudes("weight", grad_output=2.0).shape == (4, 3)
    np.testing.assert_allclose(r.contribution_magnitudes("weight", grad_output=2.0), 2 * np.log(2))


def test_equal_elements_are_computed_once(monkeypatch):
    calls = []
    real = oracle.losses.logits_quantity

    def counting(*args):
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(oracle.losses, "logits_quantity", counting)
    fast.set_enabled(False)
    try:
        x = np.full(500, 0.75, np.float32)
        x[::2] = -3.0
        r = oracle.binary_cross_entropy_with_logits(x, np.ones(500, np.float32), reduction="none")
        for dtype in ("float32", "float16", "bfloat16", "float64"):
            r.rounded(dtype)
    finally:
        fast.set_enabled(True)
    assert calls == ["value", "value"]  # two distinct elements, four formats


def test_a_large_mean_is_decided_from_the_enclosures():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100_000).astype(np.float32)
    y = rng.random(100_000).astype(np.float32)
    before = dict(fast.STATS)
    r = oracle.binary_cross_entropy_with_logits(x, y, reduction="mean")
    for dtype in ("float32", "float16", "bfloat16"):
        r.rounded(dtype)
    assert fast.STATS["fast"] - before["fast"] == 3
    assert fast.STATS["exact"] == before["exact"]
