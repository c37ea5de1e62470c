"""A vectorized certified fast path: float64 enclosures of every element, decided roundings.

For float32, float16 and bfloat16 outputs, each element's quantity is enclosed in a float64
interval computed with IEEE 754 arithmetic and the project's own exp/log (oracle.fast.elementary,
outward rounding in oracle.fast.intervals); sums use a rigorous summation bound
(oracle.fast.summation). For float64 outputs the enclosure is a double-word ball
(oracle.fast.balls: a double-double center and a rigorous radius; oracle.fast.elementary_dd,
bce_dd, logits_dd), and sums add balls pairwise. An output whose enclosure lies inside one
rounding interval of the format is decided (oracle.fast.rounding); every other output, and
every element outside the fast domain (special values, clamp boundaries, arguments that are not
binary64 numbers, results too small or too close to a rounding boundary), is left to the exact
path. The proof is written down in
docs/certification.md. The fast path is off when an arithmetic assumption fails at import
(oracle.fast.assumptions) and can be switched off with ``set_enabled(False)`` or the environment
variable ``BCE_ORACLE_FAST=0``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from oracle.fast import assumptions, bce, bce_dd, far_tail, logits, logits_dd
from oracle.fast import balls as B
from oracle.fast.bridge import ball_of_ext, ball_of_fraction, enclose_exact_values, enclose_ext
from oracle.fast.rounding import decide, decide_float64
from oracle.fast.summation import ball_group_sums, group_sums
from oracle.formats import Format

FAILED_ASSUMPTIONS: list[str] = assumptions.failures()
_enabled = not FAILED_ASSUMPTIONS and os.environ.get("BCE_ORACLE_FAST", "1") != "0"
CHUNK = 1 << 13  # small enough for the temporaries to stay in cache
# How many outputs each path decided (for tests and benchmarks).
STATS = {"fast": 0, "exact": 0}


@dataclass
class Enclosure:
    """Per element (flat): ``lo <= quantity <= hi`` wherever ``ok``."""

    lo: np.ndarray
    hi: np.ndarray
    ok: np.ndarray


def enabled() -> bool:
    return _enabled


def set_enabled(flag: bool) -> None:
    """Switch the fast path on or off (on only if the arithmetic assumptions hold)."""
    global _enabled
    _enabled = bool(flag) and not FAILED_ASSUMPTIONS


@dataclass
class BallEnclosure:
    """Per element (flat): ``|quantity - (h + l)| <= r`` wherever ``ok`` (float64 outputs)."""

    h: np.ndarray
    l: np.ndarray  # noqa: E741
    r: np.ndarray
    ok: np.ndarray


def arithmetic_holds() -> bool:
    """Whether the assumptions of every bound hold *now* (oracle.fast.assumptions; a few
    microseconds). Checked on every entry to the fast path, before and after the enclosures are
    computed: a library loaded after the oracle (or ``torch.set_flush_denormal(True)``) can
    switch on flush-to-zero in this process, and a fast-path answer would then be wrong."""
    return not assumptions.failures()


def decides(fmt: Format) -> bool:
    """Whether the fast path tries outputs in ``fmt`` (float64: by double-word balls)."""
    return _enabled and fmt.name in ("float32", "float16", "bfloat16", "float64")


def enclose(function: str, name: str, inputs) -> Enclosure | None:
    """Enclosures of quantity ``name`` for every element of ``inputs`` (oracle.result's
    ElementInputs), or None when the fast path is off."""
    if not _enabled:
        return None
    return enclose_arrays(function, name, *_exact_arguments(inputs))


def _exact_arguments(inputs):
    exact = inputs.x.exact_mask & inputs.y.exact_mask
    for arg in (inputs.w, inputs.p):
        if arg is not None:
            exact = exact & arg.exact_mask
    w = None if inputs.w is None else inputs.w.floats
    p = None if inputs.p is None else inputs.p.floats
    return inputs.x.floats, inputs.y.floats, w, p, exact


def enclose_balls(function: str, name: str, inputs) -> BallEnclosure | None:
    """Double-word balls of quantity ``name`` for every element of ``inputs`` (float64 outputs),
    or None when the fast path is off."""
    if not _enabled:
        return None
    return enclose_ball_arrays(function, name, *_exact_arguments(inputs))


def _by_chunks(function, name, x, y, w, p, exact, kernels, width: int):
    """Per element, the ``width`` arrays a kernel module (``kernels``: the BCE and the
    with-logits module, each with ``eligible`` and ``enclose``) computes, NaN off its domain,
    and the mask of finite results, chunk by chunk. Nothing is computed, and the mask is empty,
    while an arithmetic assumption fails (checked before and after)."""
    n = x.size
    w = np.ones(n) if w is None else w
    p = np.ones(n) if p is None else p
    out = tuple(np.full(n, np.nan) for _ in range(width))
    if not arithmetic_holds():
        return out, np.zeros(n, dtype=bool)
    bce_kernel, logits_kernel = kernels
    is_bce = function == "binary_cross_entropy"
    with np.errstate(all="ignore"):
        ok = bce_kernel.eligible(x, y, w) if is_bce else logits_kernel.eligible(x, y, w, p)
        if exact is not None:
            ok = ok & exact
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            sel = ok[start:stop]
            if not sel.any():
                continue
            idx = slice(start, stop) if sel.all() else np.flatnonzero(sel) + start
            if is_bce:
                values = bce_kernel.enclose(name, x[idx], y[idx], w[idx])
            else:
                values = logits_kernel.enclose(name, x[idx], y[idx], w[idx], p[idx])
            for array, v in zip(out, values):
                array[idx] = v
        for array in out:
            ok = ok & np.isfinite(array)
    if not arithmetic_holds():
        ok = np.zeros(n, dtype=bool)
    return out, ok


def enclose_ball_arrays(function, name, x, y, w=None, p=None, exact=None) -> BallEnclosure:
    """Double-word balls of quantity ``name`` of ``function`` at flat float64 arguments (as
    enclose_arrays; ``ok`` is False off the float64 fast domain)."""
    (h, l, r), ok = _by_chunks(function, name, x, y, w, p, exact, (bce_dd, logits_dd), 3)  # noqa: E741
    return BallEnclosure(h, l, r, ok)


def scale_balls(enc: BallEnclosure, g: np.ndarray | None, g_balls=None):
    """(h, l, r) of ``q * g`` from balls of ``q`` and exact float64 ``g`` (or balls of g)."""
    ball = (enc.h, enc.l, enc.r)
    with np.errstate(all="ignore"):
        if g_balls is not None:
            return B.mul(ball, g_balls)
        if g is None or (g == 1).all():
            return ball
        return B.mul_float(ball, g)


def divide_balls(ball, n: float):
    """(h, l, r) of ``ball / n`` for an exact float64 ``n > 0``."""
    if n == 1.0:
        return ball
    with np.errstate(all="ignore"):
        one = np.ones_like(ball[0])
        return B.div(ball, (one * n, one * 0.0, one * 0.0))


def enclose_arrays(function, name, x, y, w=None, p=None, exact=None) -> Enclosure:
    """Enclosures of quantity ``name`` ('value', 'input', 'target', 'weight', 'pos_weight') of
    ``function`` at flat float64 arguments (``w``, ``p`` default to ones; ``exact`` marks the
    elements whose arguments are exactly these floats). ``ok`` is False off the fast domain."""
    (lo, hi), ok = _by_chunks(function, name, x, y, w, p, exact, (bce, logits), 2)
    with np.errstate(invalid="ignore"):
        ok = ok & (lo <= hi)
    return Enclosure(lo, hi, ok)


def scale(lo, hi, g_lo, g_hi):
    """The enclosure of ``q * g`` from enclosures of ``q`` and of ``g`` (elementwise)."""
    from oracle.fast import intervals as iv

    with np.errstate(all="ignore"):
        same = g_lo == g_hi
        if same.all():
            if (g_lo == 1).all():
                return lo, hi
            s_lo, s_hi = iv.mul_point(g_lo, (lo, hi))
        else:
            s_lo, s_hi = iv.mul((lo, hi), (g_lo, g_hi))
        zero = (lo == 0) & (hi == 0)  # the exact zero times a finite g is the exact zero
        return np.where(zero, 0.0, s_lo), np.where(zero, 0.0, s_hi)


def divide(lo, hi, n: float):
    from oracle.fast import intervals as iv

    with np.errstate(all="ignore"):
        return iv.divide_point((lo, hi), n)


__all__ = [
    "BallEnclosure",
    "Enclosure",
    "ball_group_sums",
    "ball_of_ext",
    "ball_of_fraction",
    "decide_float64",
    "divide_balls",
    "enclose_ball_arrays",
    "enclose_balls",
    "scale_balls",
    "FAILED_ASSUMPTIONS",
    "STATS",
    "decide",
    "decides",
    "divide",
    "enabled",
    "enclose",
    "enclose_arrays",
    "enclose_exact_values",
    "far_tail",
    "enclose_ext",
    "group_sums",
    "scale",
    "set_enabled",
]
