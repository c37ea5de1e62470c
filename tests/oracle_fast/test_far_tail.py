"""Certified zeros (oracle.fast.far_tail) give exactly the exact path's bits, decline where the
quantity is not certainly below half the smallest subnormal, and their bound holds.

The exact path is the referee: the same call is answered with the fast path on (certified zeros
included) and off, and the bit patterns must be equal, sign of zero included.
"""

from __future__ import annotations

import itertools

import ml_dtypes
import mpmath
import numpy as np
import pytest

import oracle
from oracle import fast
from oracle.fast import far_tail
from oracle.formats import format_of

DTYPES = {
    "float64": np.float64,
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
}
WRTS = ("input", "target", "weight", "pos_weight")
# Where e^-t crosses half the smallest subnormal: t = (p - emin) ln 2.
THRESHOLD = {"float64": 745.13, "float32": 103.97, "float16": 17.33, "bfloat16": 92.88}


def _answers(x, y, w, p, g, dtype, enabled, reduction="none"):
    fast.set_enabled(enabled)
    try:
        cast = DTYPES[dtype]
        r = oracle.binary_cross_entropy_with_logits(
            x.astype(cast),
            y.astype(cast),
            weight=w.astype(cast),
            pos_weight=p.astype(cast),
            reduction=reduction,
        )
        out = {"value": r.rounded(dtype)} if reduction == "none" else {}
        for wrt in WRTS:
            out[wrt] = r.gradient(wrt, dtype)
            out[wrt + "*g"] = r.gradient(wrt, dtype, grad_output=g.astype(cast))
        return out
    finally:
        fast.set_enabled(True)


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8).tobytes()


def _grid(xs, dtype):
    """Every combination of far logits with targets, weights and pos_weights that zero the
    non-vanishing part (and some that do not), and mixed-sign upstream gradients."""
    ys, ws, ps = (0.0, 1.0, 0.5, 0.25), (1.0, -2.0, 0.0, 3.0), (1.0, 0.0, -0.5, 4.0)
    rows = list(itertools.product(xs, ys, ws, ps))
    x, y, w, p = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
    g = np.resize(np.array([1.0, -3.0, 0.0, 2.0**-10, -0.75]), x.size)
    return x, y, w, p, g


def _far_logits(dtype):
    big = float(np.finfo(DTYPES[dtype]).max) if dtype != "bfloat16" else 3.0e38
    far = [THRESHOLD[dtype] * 1.5, THRESHOLD[dtype] * 40, big]
    if dtype == "float64":
        far += [1.0e30]
    return [s * v for v in far for s in (1.0, -1.0)]


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_certified_zeros_match_the_exact_path_far_from_the_origin(dtype, monkeypatch):
    x, y, w, p, g = _grid(_far_logits(dtype), dtype)
    certified = []
    decide = far_tail.decide_zeros

    def counting(*args, **kwargs):
        decided, bits = decide(*args, **kwargs)
        certified.append(int(decided.sum()))
        return decided, bits

    monkeypatch.setattr(far_tail, "decide_zeros", counting)
    got = _answers(x, y, w, p, g, dtype, True)
    assert sum(certified) >= x.size  # the certificates decided the far tail, not the exact path
    want = _answers(x, y, w, p, g, dtype, False)
    for name in want:
        assert _bits(got[name]) == _bits(want[name]), (dtype, name)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_certificates_decline_across_the_underflow_threshold(dtype):
    """Consecutive values of the format across the logit where e^-t falls below half the
    smallest subnormal, judged by the certificates alone (the enclosures decide most of these
    first): every zero they decide is the exact path's, and they decline near the threshold."""
    fmt = format_of(dtype)
    start = np.array([THRESHOLD[dtype] * 0.97], dtype=DTYPES[dtype])
    step = 1 if fmt.width == 16 else 1 << (fmt.precision - 12)
    bits = start.view(fmt.uint_dtype).astype(np.int64)[0] + step * np.arange(160)
    t = bits.astype(fmt.uint_dtype).view(DTYPES[dtype]).astype(np.float64)
    x = np.concatenate([-t, t])
    ones = np.ones_like(x)
    for y, name in ((0.0, "value"), (0.0, "input"), (1.0, "input"), (1.0, "pos_weight")):
        sign, exponent = far_tail.certificates(name, x, y * ones, ones, ones)
        g = None if name == "value" else -ones
        decided, got = far_tail.decide_zeros(sign, exponent, g, fmt)
        answers = _answers(x, y * ones, ones, ones, -ones, dtype, False)
        want = answers["value" if name == "value" else name + "*g"]
        want_bits = want.view(fmt.uint_dtype).astype(np.uint64)
        assert (got[decided] == want_bits[decided]).all(), (dtype, y, name)
        tiny = want_bits & np.uint64((1 << (fmt.width - 1)) - 1)
        assert decided.any() and (~decided & (tiny == 0)).any()  # some, not every, zero
        assert not (decided & (tiny != 0)).any()


def test_certified_zeros_keep_the_sign_of_the_vanishing_part():
    x = np.array([1.0e30, -1.0e30])
    y, one = np.array([1.0, 0.0]), np.ones(2)
    got = _answers(x, y, one, one, one, "float32", True)
    assert np.signbit(got["input"]).tolist() == [True, False]  # -p y e and (1 - y) e


def test_a_certified_zero_times_a_zero_upstream_gradient_is_positive_zero():
    x, one = np.array([-1.0e30]), np.ones(1)
    got = _answers(x, one * 0.0, one, one, -0.0 * one, "float32", True)
    assert _bits(got["input*g"]) == _bits(np.zeros(1, dtype=np.float32))


def test_no_certificate_where_the_non_vanishing_part_is_not_zero():
    x = np.array([1.0e30, -1.0e30, 1.0e30])
    y = np.array([0.5, 0.5, 0.0])
    sign, _ = far_tail.certificates("value", x, y, None, None)
    assert sign.tolist() == [2, 2, 2]  # w (1 - y) t or w p y t is not 0


@pytest.mark.parametrize("name", ["value", "weight", "pos_weight", "target", "input"])
def test_the_certified_bound_holds_and_is_tight(name):
    """|q| < 2^exponent, checked against q computed by mpmath at 80 digits; and the bound is
    within a factor 2^4 of |q| (it does not certify by being loose)."""
    rng = np.random.default_rng(7)
    t = np.exp(rng.uniform(np.log(50.0), np.log(1.0e5), 60))
    x = np.where(np.arange(60) % 2 == 0, t, -t)
    forms = {  # arguments chosen so the non-vanishing part is exactly 0
        "value": (np.where(x >= 0, 1.0, 0.0), None),
        "weight": (np.where(x >= 0, 1.0, 0.0), None),
        "pos_weight": (np.full(60, 0.5), None),
        "target": (np.full(60, 0.5), np.where(x >= 0, 1.5, 0.0)),
        "input": (np.where(x >= 0, 1.0, 0.0), None),
    }
    y, p = forms[name]
    w = rng.uniform(0.5, 4.0, 60)
    p = rng.uniform(0.5, 4.0, 60) if p is None else p
    sign, exponent = far_tail.certificates(name, x, y, w, p)
    checked = 0
    mpmath.mp.dps = 80
    for i in range(60):
        if sign[i] == 2:
            continue
        ti, wi, yi, pi = (mpmath.mpf(float(v)) for v in (abs(x[i]), w[i], y[i], p[i]))
        u = mpmath.exp(-ti)
        s, e = mpmath.log1p(u), u / (1 + u)
        c = 1 - yi + pi * yi
        q = {
            "value": wi * c * s,
            "weight": c * s,
            "pos_weight": wi * yi * s,
            "target": wi * (pi - 1) * s,
            "input": (-1 if x[i] >= 0 else 1) * wi * c * e,
        }[name]
        assert q != 0
        assert int(np.sign(float(mpmath.sign(q)))) == int(sign[i])
        assert abs(q) < mpmath.mpf(2) ** int(exponent[i])
        assert abs(q) >= mpmath.mpf(2) ** (int(exponent[i]) - 4)
        checked += 1
    assert checked >= 30
