"""The fast path's rounding of float64 values into float32, float16 and bfloat16 is the oracle's
direct rounding of the same exact value (oracle.formats.round_rational_bits), and its outward
steps really step outward."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from oracle.fast import intervals as iv
from oracle.fast import rounding
from oracle.fast.rounding import format_bits, round_in_format
from oracle.formats import FORMATS, round_rational_bits


def _values(fmt, rng) -> np.ndarray:
    n = 4000
    spread = rng.standard_normal(n) * 2.0 ** rng.integers(-160, 140, n)
    subnormal64 = rng.random(500) * 2.0**-1074 * 2.0 ** rng.integers(0, 60, 500)
    own = rng.integers(0, fmt.inf_bits, n).astype(fmt.uint_dtype).view(fmt.numpy_dtype)
    own = own.astype(np.float64)
    midpoints = own * (1 + 2.0**-fmt.precision)  # halfway to the next value (ties)
    near = np.concatenate([np.nextafter(midpoints, np.inf), np.nextafter(midpoints, -np.inf)])
    top = float(fmt.max_finite) * np.array(
        [1.0, 1 + 2.0**-fmt.precision, 1 + 2.0 ** (1 - fmt.precision)]
    )
    v = np.concatenate([spread, subnormal64, own, midpoints, near, top, -top, -own])
    return v[np.isfinite(v)]


@pytest.mark.parametrize("numpy_half", [True, False])
@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_round_in_format_is_the_correct_rounding(monkeypatch, name, numpy_half):
    if numpy_half:
        assert rounding.HALF_CONVERSION_ROUNDS_ONCE  # NumPy's conversion is used here
    monkeypatch.setattr(rounding, "HALF_CONVERSION_ROUNDS_ONCE", numpy_half)
    fmt = FORMATS[name]
    v = _values(fmt, np.random.default_rng(11))
    with np.errstate(all="ignore"):
        got = format_bits(round_in_format(v, fmt), fmt)
    want = np.array([round_rational_bits(Fraction(x), fmt) for x in v.tolist()], dtype=np.uint64)
    assert np.array_equal(got, want)


def test_outward_steps_bound_every_rounding():
    rng = np.random.default_rng(2)
    r = np.concatenate(
        [
            rng.standard_normal(5000) * 2.0 ** rng.integers(-1074, 1000, 5000),
            np.array([0.0, 2.0**-1074, -(2.0**-1074), 2.0**-1022, 1.0, -1.0, 2.0**1023]),
        ]
    )
    r = r[np.isfinite(r)]
    assert (iv.down(r) <= np.nextafter(r, -np.inf)).all()
    assert (iv.up(r) >= np.nextafter(r, np.inf)).all()
