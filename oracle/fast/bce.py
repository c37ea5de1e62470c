"""Fast enclosures of the quantities of binary_cross_entropy (oracle.bce_terms).

    Lx = max(log x, -100),  L1 = max(log(1 - x), -100)
    value  = -w (y Lx + (1 - y) L1)        weight = -(y Lx + (1 - y) L1)
    target = -w (Lx - L1)                  input  = -w (y D1 - (1 - y) D2)

with D1 = 1/x and D2 = 1/(1 - x), each 0 where its clamp is active. The clamp of log x is
active iff x < e^-100 = 2^-144.27...: x < 2^-145 is clamped (Lx = -100, D1 = 0), x >= 2^-140 is
not, and 2^-145 <= x < 2^-140 is left to the exact path. log(1 - x) is clamped only at x = 1
(for float64 x < 1, 1 - x >= 2^-53 > e^-100). For x < 2^-600, -x - x^2 < log(1 - x) < -x and
x^2 is below half the smallest subnormal, so [down(-x), -x] holds log(1 - x) (exactly 0 at 0).
Precondition (``eligible``): x and y in [0, 1], w finite, x outside [2^-145, 2^-140).
"""

from __future__ import annotations

import numpy as np

from oracle.fast import elementary as el
from oracle.fast import intervals as iv

_CLAMPED_BELOW = 2.0**-145
_UNCLAMPED_FROM = 2.0**-140
_TINY = 2.0**-600


def eligible(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    ok = (x >= 0) & (x <= 1) & (y >= 0) & (y <= 1) & np.isfinite(w)
    return ok & ((x < _CLAMPED_BELOW) | (x >= _UNCLAMPED_FROM))


def _where(cond, a, b):
    return np.where(cond, a[0], b[0]), np.where(cond, a[1], b[1])


# Memo tables of _logs over every float16 / bfloat16 number in [0, 1], indexed by bit pattern.
_TABLES: dict[str, tuple[np.ndarray, ...]] = {}
_ONE_PATTERN = {"float16": 0x3C00, "bfloat16": 0x3F80}  # the pattern of 1.0; [0, 1] lies below


def _narrow_patterns(x: np.ndarray) -> tuple[str, np.ndarray] | None:
    """(format, bit patterns) when every x is a float16 (else bfloat16) number in [+0, 1]."""
    with np.errstate(all="ignore"):
        half = x.astype(np.float16)
        if np.array_equal(half, x):
            fmt, patterns = "float16", half.view(np.uint16)
        else:
            single = x.astype(np.float32)
            bits = single.view(np.uint32)
            if not (np.array_equal(single, x) and not (bits & np.uint32(0xFFFF)).any()):
                return None
            fmt, patterns = "bfloat16", bits >> np.uint32(16)
    return (fmt, patterns) if patterns.max() <= _ONE_PATTERN[fmt] else None


def _format_values(fmt: str) -> np.ndarray:
    """Every number of ``fmt`` from +0 to 1, in bit-pattern order, as float64 (exact)."""
    patterns = np.arange(_ONE_PATTERN[fmt] + 1)
    if fmt == "float16":
        return patterns.astype(np.uint16).view(np.float16).astype(np.float64)
    return (patterns.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)


def _logs(x: np.ndarray):
    """Intervals holding Lx and L1 (``_logs_direct``), read from a memo table when every x is a
    float16 or bfloat16 number: the table holds ``_logs_direct`` of each such number, so the
    result is the same, bit for bit."""
    hit = _narrow_patterns(x) if x.size else None
    if hit is None:
        return _logs_direct(x)
    fmt, patterns = hit
    table = _TABLES.get(fmt)
    if table is None:
        values = _format_values(fmt)
        parts = [_logs_direct(values[i : i + 8192]) for i in range(0, values.size, 8192)]
        table = _TABLES[fmt] = tuple(
            np.concatenate([p[j][k] for p in parts]) for j in (0, 1) for k in (0, 1)
        )
    lx_lo, lx_hi, l1_lo, l1_hi = (t[patterns] for t in table)
    return (lx_lo, lx_hi), (l1_lo, l1_hi)


def _logs_direct(x: np.ndarray):
    """Intervals holding Lx and L1, from one log pair at a = min(x, 1 - x).

    a is exact (for x >= 1/2, 1 - x is exact by Sterbenz; for x < 1/2, a = x), and
    {log x, log(1 - x)} = {log a, log(1 - a)}: Lx = log a and L1 = log(1 - a) for x < 1/2,
    swapped for x >= 1/2. The clamp of log a is active iff a < 2^-145 (a = x clamped, or
    a = 1 - x = 0 at x = 1: otherwise 1 - x >= 2^-53); log(1 - a) is never clamped (a <= 1/2)
    and for a < 2^-600 is [down(-a), -a] (exactly 0 at a = 0).
    """
    a = np.minimum(x, 1.0 - x)
    clamped = a < _CLAMPED_BELOW
    tiny = a < _TINY  # implies clamped
    log_a, log_1ma = el.log_pair_interval(np.where(tiny, 0.5, a))
    minus100 = np.full_like(x, -100.0)
    log_a = np.where(clamped, minus100, log_a[0]), np.where(clamped, minus100, log_a[1])
    log_1ma = (
        np.where(tiny, np.where(a == 0, 0.0, iv.down(-a)), log_1ma[0]),
        np.where(tiny, -a, log_1ma[1]),
    )
    high = x >= 0.5
    return _where(high, log_1ma, log_a), _where(high, log_a, log_1ma)


def exact_zeros(name: str, x, y) -> np.ndarray:
    """Where quantity ``name`` is exactly 0 at eligible points, other than through w = 0 (where
    the product by -w is already the exact [0, 0]): the value and the weight gradient at
    x = y in {0, 1} (the unclamped log is 0 and its clamped partner has coefficient 0); the
    target gradient at x = 1/2 (Lx = L1); the input gradient at x = y in [2^-140, 1)
    (y/x = (1 - y)/(1 - x) = 1), at x < 2^-145 with y = 1 (D1 = 0, 1 - y = 0) and at x = 1
    with y = 0 (D2 = 0, y = 0)."""
    if name in ("value", "weight"):
        return ((x == 0) | (x == 1)) & (y == x)
    if name == "target":
        return x == 0.5
    if name == "input":
        inner = (x == y) & (x >= _UNCLAMPED_FROM) & (x < 1)
        return inner | ((x < _CLAMPED_BELOW) & (y == 1)) | ((x == 1) & (y == 0))
    raise ValueError(f"unknown quantity {name!r}")


def _with_zeros(name: str, x, y, interval):
    zero = exact_zeros(name, x, y)
    if not zero.any():
        return interval
    return np.where(zero, 0.0, interval[0]), np.where(zero, 0.0, interval[1])


def enclose(name: str, x, y, w):
    """(lo, hi) enclosing quantity ``name`` at eligible points (exactly [0, 0] where it is 0)."""
    return _with_zeros(name, x, y, _enclose(name, x, y, w))


def _enclose(name: str, x, y, w):
    omy = iv.one_minus(y)
    if name == "input":
        clamped_x = x < _CLAMPED_BELOW
        d1 = iv.down(1.0 / x), iv.up(1.0 / x)
        d1 = np.where(clamped_x, 0.0, d1[0]), np.where(clamped_x, 0.0, d1[1])
        one = x == 1.0
        d2 = iv.reciprocal_positive(iv.one_minus(np.where(one, 0.5, x)))
        d2 = np.where(one, 0.0, d2[0]), np.where(one, 0.0, d2[1])
        bracket = iv.sub(iv.mul_point(y, d1), iv.mul(omy, d2))
        return iv.mul_point(-w, bracket)
    lx, l1 = _logs(x)
    if name == "target":
        return iv.mul_point(-w, iv.sub(lx, l1))
    bracket = iv.add(iv.mul_point(y, lx), iv.mul(omy, l1))
    if name == "weight":
        return iv.neg(bracket)
    if name == "value":
        return iv.mul_point(-w, bracket)
    raise ValueError(f"unknown quantity {name!r}")
