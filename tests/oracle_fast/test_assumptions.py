"""The fast path's preconditions: arithmetic assumptions checked at import (off when one fails),
and the oracle's own error for a value round_to cannot read."""

from __future__ import annotations

import numpy as np
import pytest

import oracle
from oracle import fast
from oracle.fast import assumptions


def test_the_arithmetic_assumptions_hold_here():
    assert assumptions.failures() == []
    assert fast.FAILED_ASSUMPTIONS == []


def test_a_failed_assumption_switches_the_fast_path_off(monkeypatch):
    x = np.array([1.5, -0.25, 3.0], np.float32)
    y = np.array([1.0, 0.5, 0.0], np.float32)
    with_fast = oracle.binary_cross_entropy_with_logits(x, y, reduction="none").rounded("float32")
    monkeypatch.setattr(fast, "FAILED_ASSUMPTIONS", ["no fused multiply-add"])
    fast.set_enabled(True)  # asking for it does not override a failed check
    try:
        assert not fast.enabled()
        before = dict(fast.STATS)
        r = oracle.binary_cross_entropy_with_logits(x, y, reduction="none")
        assert r.rounded("float32").tobytes() == with_fast.tobytes()
        assert fast.STATS["fast"] == before["fast"]  # nothing was decided on the fast path
        assert fast.STATS["exact"] == before["exact"] + 3
    finally:
        monkeypatch.undo()
        fast.set_enabled(True)
    assert fast.enabled()


@pytest.mark.parametrize("name", list(assumptions.CHECKS))
def test_each_failed_check_is_reported(monkeypatch, name):
    monkeypatch.setitem(assumptions.CHECKS, name, lambda: False)
    assert assumptions.failures() == [name]


def test_round_to_an_unreadable_value_raises_the_oracles_error():
    with pytest.raises(oracle.OracleDomainError, match="cannot read 'zz'"):
        oracle.round_to("zz", "float32")
    with pytest.raises(oracle.UnknownFormatError):
        oracle.round_to("1", "zz")


def _ftz_case():
    """A float64 input gradient whose weight's Veltkamp low half is subnormal: with
    denormals-are-zero, Dekker's product loses about 2^-27 relative (found by a review)."""
    x = np.array([float.fromhex("0x1.4f19dc2d194f5p-85")])
    y = np.array([float.fromhex("0x1.6655fd5f8912cp-2")])
    w = np.array([float.fromhex("0x1.d9a0eb76c772ap-1016")])
    return oracle.binary_cross_entropy(x, y, weight=w, reduction="none")


def test_flush_to_zero_switched_on_after_import_sends_every_output_to_the_exact_path():
    torch = pytest.importorskip("torch")
    fast.set_enabled(False)
    try:
        exact = _ftz_case().gradient("input", "float64")
    finally:
        fast.set_enabled(True)
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush denormals")
    try:
        assert not fast.arithmetic_holds()
        before = dict(fast.STATS)
        got = _ftz_case().gradient("input", "float64")
        assert fast.STATS["fast"] == before["fast"]  # nothing decided while the mode is on
    finally:
        torch.set_flush_denormal(False)
    assert fast.arithmetic_holds()
    assert got.tobytes() == exact.tobytes()


def test_a_check_failing_after_import_leaves_the_enclosures_undecided(monkeypatch):
    x = np.array([0.25, 0.5])
    y = np.array([1.0, 0.0])
    monkeypatch.setitem(assumptions.CHECKS, "no fused multiply-add", lambda: False)
    assert not fast.enclose_arrays("binary_cross_entropy", "value", x, y).ok.any()
    assert not fast.enclose_ball_arrays("binary_cross_entropy", "value", x, y).ok.any()
