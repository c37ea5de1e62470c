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
