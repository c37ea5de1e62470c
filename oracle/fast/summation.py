"""Certified sums of enclosures, grouped by output (a full reduction is one group).

For any order of float64 additions (NumPy's bincount adds sequentially; any summation tree
obeys the same bound) the computed sum of n terms satisfies
``|fl(sum x_i) - sum x_i| <= gamma_{n-1} sum |x_i|`` with ``gamma_k = k u / (1 - k u)``,
u = 2^-53 (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 4.4; additions
never incur an underflow error). With ``A = fl(sum |x_i|) >= (1 - gamma_{n-1}) sum |x_i|``, the
error is at most ``gamma_{n-1} / (1 - gamma_{n-1}) A <= 2 n u A`` for ``n u <= 0.01``, evaluated
with one upward step. The lower endpoints are summed for the lower bound and the upper for the
upper bound.
"""

from __future__ import annotations

import numpy as np

from oracle.fast import balls as B
from oracle.fast import intervals as iv

_U = 2.0**-53


def group_sums(lo: np.ndarray, hi: np.ndarray, ok: np.ndarray, index: np.ndarray, n: int):
    """(lo, hi, ok) per group: enclosures of the sums of the member enclosures."""
    with np.errstate(all="ignore"):
        bad = np.bincount(index, weights=(~ok).astype(np.float64), minlength=n) > 0
        lo0, hi0 = np.where(ok, lo, 0.0), np.where(ok, hi, 0.0)
        count = np.bincount(index, minlength=n).astype(np.float64)
        c = 2.0 * count * _U
        s_lo = np.bincount(index, weights=lo0, minlength=n)
        s_hi = np.bincount(index, weights=hi0, minlength=n)
        e_lo = iv.up(np.bincount(index, weights=np.abs(lo0), minlength=n) * c)
        e_hi = iv.up(np.bincount(index, weights=np.abs(hi0), minlength=n) * c)
        out_lo, out_hi = iv.down(s_lo - e_lo), iv.up(s_hi + e_hi)
        good = ~bad & np.isfinite(out_lo) & np.isfinite(out_hi) & (count * _U <= 0.005)
    return out_lo, out_hi, good


def ball_group_sums(h, l, r, ok, index: np.ndarray, n: int):  # noqa: E741
    """(h, l, r, ok) per group: double-word balls of the sums of the member balls.

    Members are added pairwise (a balanced tree) with balls.add, whose radius bounds each
    addition's rounding error and carries the members' radii (docs/certification.md, section
    10.5); padding members are the exact ball 0. A group with a member that is not ``ok`` is not
    ``ok``."""
    with np.errstate(all="ignore"):
        order = np.argsort(index, kind="stable")
        counts = np.bincount(index, minlength=n)
        width = int(counts.max()) if n else 0
        bad = np.bincount(index, weights=(~ok).astype(np.float64), minlength=n) > 0
        cols = np.arange(index.size) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = index[order]
        grid = [np.zeros((n, max(width, 1))) for _ in range(3)]
        for g, v in zip(grid, (h, l, r), strict=True):
            g[rows, cols] = np.where(ok, v, 0.0)[order]
        balls = tuple(grid)
        while balls[0].shape[1] > 1:
            if balls[0].shape[1] % 2:
                balls = tuple(np.concatenate([b, np.zeros((n, 1))], axis=1) for b in balls)
            balls = B.add(tuple(b[:, 0::2] for b in balls), tuple(b[:, 1::2] for b in balls))
        out = tuple(b[:, 0] for b in balls)
        good = ~bad & np.isfinite(out[0]) & np.isfinite(out[2])
    return out[0], out[1], out[2], good
