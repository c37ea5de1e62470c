"""The oracle agrees bit for bit with an independent Arb reference (tests/arb_reference.py).

For each function and format, a deterministic mix of domain-edge and random points (all values
representable in the format under test, all finite) is evaluated by the oracle in one call per
batch (reduction='none': the value and the gradients in every argument) and by the reference one
element at a time; a few hundred small vectors check 'sum' and 'mean' (value and gradients, with
and without grad_output, with and without weight / pos_weight). Every rounded value must match
bitwise, the sign of zero included (the oracle's rule, shared by the reference: an exact zero is
+0, a non-zero value that rounds to zero keeps its sign).

Script mode prints the table of agreements::

    python -m tests.test_oracle_vs_arb --points 10000 --reduced 300
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("flint")

import oracle  # noqa: E402
from oracle.errors import OracleError  # noqa: E402
from oracle.formats import format_of  # noqa: E402

try:  # pytest puts tests/ on sys.path; `python -m tests.test_oracle_vs_arb` puts the root there
    from tests import arb_reference as ref  # noqa: E402
except ImportError:  # pragma: no cover
    import arb_reference as ref  # type: ignore[no-redef]  # noqa: E402

FUNCTIONS = ("binary_cross_entropy", "binary_cross_entropy_with_logits")
DTYPES = ("float64", "float32", "float16", "bfloat16")
ARGUMENTS = {
    "binary_cross_entropy": ("input", "target", "weight"),
    "binary_cross_entropy_with_logits": ("input", "target", "weight", "pos_weight"),
}
E_MINUS_100 = math.exp(-100)  # 3.72e-44, the clamp threshold of log

# CI size (unmarked: `pytest tests/test_oracle_vs_arb.py -m "not slow"` took 44 s on 2 cores) and
# the exhaustive size (@slow: `python -m tests.test_oracle_vs_arb --points 10000` took 216 s).
FAST_POINTS, FAST_REDUCED = 2000, 60
FULL_POINTS, FULL_REDUCED = 10_000, 300


# ---------------------------------------------------------------------------------------------
# Points: every coordinate is a value of the format under test
# ---------------------------------------------------------------------------------------------


class PointSource:
    """Deterministic edge and random values of one format (returned as float64 arrays holding
    values of that format exactly)."""

    def __init__(self, dtype: str, rng: np.random.Generator):
        self.fmt = ref.TARGET_FORMATS[dtype]
        self.rng = rng
        f = self.fmt
        self.min_sub = 2.0**f.qmin
        self.min_normal = 2.0**f.emin
        self.max_sub = self.min_normal - self.min_sub
        self.max = float(f.max_finite)
        self.ulp1 = 2.0 ** (1 - f.precision)  # spacing just above 1
        self.one_bits = int(self.cast([1.0]).view(f.uint)[0])
        self.inf_bits = int(self.cast([math.inf]).view(f.uint)[0])

    # -- conversions -------------------------------------------------------------------------
    def cast(self, values) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.asarray(values, dtype=np.float64).astype(self.fmt.dtype)

    def exact(self, values) -> np.ndarray:
        """Values rounded into the format, returned widened (exactly) to float64."""
        clipped = np.clip(np.asarray(values, dtype=np.float64), -self.max, self.max)
        return self.cast(clipped).astype(np.float64)

    def from_bits(self, bits) -> np.ndarray:
        b = np.asarray(bits, dtype=np.uint64).astype(self.fmt.uint)
        return b.view(self.fmt.dtype).astype(np.float64)

    def neighbours(self, v: float, k: int) -> list[float]:
        """v and the k representable values on each side of it (v > 0 representable)."""
        b = int(self.cast(self.exact([v])).view(self.fmt.uint)[0])
        near = self.from_bits([b + i for i in range(-k, k + 1) if 0 < b + i < self.inf_bits])
        return [float(x) for x in near]

    # -- random families ---------------------------------------------------------------------
    def bit_uniform(self, n: int, lo_bits: int, hi_bits: int, signed: bool) -> np.ndarray:
        """Uniform over the bit patterns of magnitudes in [lo_bits, hi_bits]."""
        mags = self.from_bits(self.rng.integers(lo_bits, hi_bits + 1, size=n, dtype=np.uint64))
        if signed:
            mags = np.where(self.rng.random(n) < 0.5, -mags, mags)
        return mags

    def unit_interval(self, n: int) -> np.ndarray:
        """Random values in [0, 1]: uniform reals, uniform bit patterns, and near 1."""
        kind = self.rng.integers(0, 4, size=n)
        uniform = self.exact(self.rng.random(n))
        bits = self.bit_uniform(n, 0, self.one_bits, signed=False)
        logu = self.exact(2.0 ** (-self.rng.random(n) * min(-self.fmt.qmin, 160)))
        near_one = self.exact(1.0 - self.rng.random(n) * 2.0 ** -self.rng.integers(1, 30, size=n))
        return np.choose(kind, [uniform, bits, logu, near_one])

    def any_finite(self, n: int) -> np.ndarray:
        return self.bit_uniform(n, 0, self.inf_bits - 1, signed=True)

    def moderate(self, n: int, scale: float) -> np.ndarray:
        return self.exact(self.rng.standard_normal(n) * scale)

    def pick(self, pool: list[float], n: int) -> np.ndarray:
        return self.exact(np.asarray(pool)[self.rng.integers(0, len(pool), size=n)])

    def pick_grouped(self, groups: list[list[float]], n: int) -> np.ndarray:
        """A group uniformly, then a value of it: small groups of special values stay frequent."""
        groups = [g for g in groups if g]
        which = self.rng.integers(0, len(groups), size=n)
        return np.choose(which, [self.pick(g, n) for g in groups])

    # -- edge pools --------------------------------------------------------------------------
    def tiny_pool(self) -> list[float]:
        f = self.fmt
        subs = [self.min_sub, 2 * self.min_sub, 3 * self.min_sub, self.max_sub, self.min_normal]
        subs += [float(v) for v in self.bit_uniform(6, 1, self.one_bits >> 1, signed=False)]
        powers = [2.0**-k for k in range(1, -f.qmin + 1)]
        return subs + powers

    def near_one_pool(self) -> list[float]:
        return [1.0 - 2.0**-k for k in range(1, self.fmt.precision + 1)]

    def clamp_pool(self) -> list[float]:
        """Values of x where log x crosses -100 (none exist above 0 in float16 and bfloat16)."""
        if self.min_sub >= E_MINUS_100:
            return []
        return self.neighbours(float(self.exact([E_MINUS_100])[0]), 24)

    def probability_edges(self) -> list[list[float]]:
        return [[0.0, 1.0, 0.5, 0.25, 0.75], self.tiny_pool(), self.near_one_pool()]

    def tie_weights(self) -> list[float]:
        """Weights that put a p-bit product exactly on a midpoint about half the time."""
        return [1.5, -1.5, 3.0, 0.75, -(1.0 + self.ulp1), 1.0 + 3 * self.ulp1]

    def target_edges(self) -> list[float]:
        return [0.0, 1.0, 1.0, 0.0, 0.5, 0.25, 0.75, 1.0 - self.ulp1 / 2, self.min_sub, 2.0**-10]

    def weight_edges(self) -> list[float]:
        # 1.5, 0.75, 3 and 1 + ulp times a p-bit value often land exactly on a midpoint (a tie)
        return [
            0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            -3.0,
            3.0,
            1.5,
            -1.5,
            0.75,
            self.max,
            -self.max,
            self.min_sub,
            -self.min_sub,
            self.min_normal,
            1.0 + self.ulp1,
            2.0**10,
            -(2.0**-10),
        ]

    def logit_edges(self) -> list[float]:
        pos = [
            self.min_sub,
            self.max_sub,
            self.min_normal,
            2.0**-30,
            2.0**-10,
            0.5,
            1.0,
            1.0 + self.ulp1,
            1.0 - self.ulp1 / 2,
            2.0,
            10.0,
            13.5,
            14.0,
            15.0,
            17.0,
            20.0,
            30.0,
            36.0,
            37.0,
            38.0,
            40.0,
            88.0,
            89.0,
            104.0,
            710.0,
            745.0,
            746.0,
            131072.0,
            131073.0,
            1e5,
            1e10,
            1e30,
            3e38,
            1e300,
            self.max,
        ]
        pos += self.neighbours(14.0, 2) + self.neighbours(131072.0, 2)
        return [0.0] + pos + [-v for v in pos]

    def pos_weight_edges(self) -> list[float]:
        return [
            0.0,
            1.0,
            1.0,
            0.5,
            2.0,
            3.0,
            100.0,
            1e4,
            2.0**20,
            1e30,
            self.max,
            self.min_sub,
            1.0 + self.ulp1,
            -1.0,
            -0.5,
        ]


@dataclass
class Points:
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    p: np.ndarray | None  # pos_weight (logits only)

    def __len__(self) -> int:
        return len(self.x)

    def take(self, idx) -> Points:
        return Points(
            self.x[idx], self.y[idx], self.w[idx], None if self.p is None else self.p[idx]
        )


def make_points(function: str, dtype: str, n: int, seed_tag: str = "") -> Points:
    """n deterministic points: a quarter all-edge, a quarter mixed, half random."""
    rng = np.random.default_rng(zlib.crc32(f"{function}/{dtype}/{n}/{seed_tag}".encode()))
    src = PointSource(dtype, rng)
    share = np.concatenate([np.full(n // 4, 1.0), np.full(n // 4, 0.5), np.full(n - n // 2, 0.0)])

    def coordinate(edges, random):
        take_edge = rng.random(n) < share
        edge_values = (
            src.pick_grouped(edges, n) if isinstance(edges[0], list) else src.pick(edges, n)
        )
        return np.where(take_edge, edge_values, random)

    # 3% of the points are built to hit exact ties (midpoints), where the rounding rule shows:
    # BCE d/dx = -w (4y - 2) at x = 1/2; with logits d/dy = -w x at pos_weight 1.
    tie = rng.random(n) < 0.03
    tie_w = src.pick(src.tie_weights(), n)

    hard = src.pick([0.0, 1.0], n)
    soft = src.unit_interval(n)
    y_random = np.where(rng.random(n) < 0.2, hard, soft)
    w_random = np.choose(
        rng.integers(0, 5, size=n),
        [
            src.moderate(n, 1.0),
            src.moderate(n, 1.0),
            src.moderate(n, 100.0),
            src.any_finite(n),
            src.exact(np.ones(n)),
        ],
    )
    w = coordinate(src.weight_edges(), w_random)
    if function == "binary_cross_entropy":
        clamp = src.clamp_pool()
        x_random = src.unit_interval(n)
        if clamp:  # random values around the clamp threshold
            around = src.exact(E_MINUS_100 * 2.0 ** (rng.random(n) * 4 - 2))
            x_random = np.where(rng.random(n) < 0.1, around, x_random)
        x = coordinate(src.probability_edges() + [clamp], x_random)
        y = coordinate(src.probability_edges() + [src.target_edges()], y_random)
        x, y, w = np.where(tie, 0.5, x), np.where(tie, soft, y), np.where(tie, tie_w, w)
        return Points(x, y, w, None)
    x_random = np.choose(
        rng.integers(0, 5, size=n),
        [
            src.moderate(n, 3.0),
            src.moderate(n, 30.0),
            src.exact(rng.uniform(-60, 60, n)),
            src.any_finite(n),
            src.moderate(n, 1e-3),
        ],
    )
    x = coordinate(src.logit_edges(), x_random)
    outside = src.exact(rng.uniform(-2.0, 3.0, n))  # targets outside [0, 1] are evaluated too
    y = coordinate(
        src.target_edges() + [-1.0, 2.0, 1.5], np.where(rng.random(n) < 0.05, outside, y_random)
    )
    p_random = np.choose(
        rng.integers(0, 4, size=n),
        [
            src.exact(rng.uniform(0, 5, n)),
            src.bit_uniform(n, 0, src.inf_bits - 1, signed=False),
            src.exact(np.ones(n)),
            src.exact(2.0 ** rng.integers(-10, 20, n)),
        ],
    )
    p_random = np.where(rng.random(n) < 0.03, -p_random, p_random)
    p = coordinate(src.pos_weight_edges(), p_random)
    w, p = np.where(tie, tie_w, w), np.where(tie, 1.0, p)
    return Points(x, y, w, p)


# ---------------------------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------------------------


def _call_oracle(function: str, pts: Points, dtype: str, reduction: str, weighted=True, pos=True):
    fmt = ref.TARGET_FORMATS[dtype]
    args = [pts.x.astype(fmt.dtype), pts.y.astype(fmt.dtype)]
    kwargs = {"reduction": reduction}
    if weighted:
        kwargs["weight"] = pts.w.astype(fmt.dtype)
    if function == "binary_cross_entropy_with_logits" and pos:
        kwargs["pos_weight"] = pts.p.astype(fmt.dtype)
    return getattr(oracle, function)(*args, **kwargs)


def _oracle_bits(batch, per_element, dtype: str, n: int):
    """(bits, errors) of one oracle quantity: ``batch()`` rounds the whole array; if it raises,
    ``per_element()`` (the exact Ext values) is rounded element by element to locate the errors."""
    fmt = ref.TARGET_FORMATS[dtype]
    try:
        return np.asarray(batch()).reshape(-1).view(fmt.uint).astype(np.uint64), {}
    except OracleError:
        pass
    ofmt = format_of(dtype)
    bits = np.zeros(n, dtype=np.uint64)
    errors = {}
    for i, v in enumerate(np.asarray(per_element()).reshape(-1)):
        try:
            bits[i] = v.rounded_bits(ofmt)
        except OracleError as exc:
            errors[i] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return bits, errors


def _oracle_side(result, dtype: str, n: int, wrts, grad_output=None) -> dict:
    """Oracle bits and errors for 'value' (rounded()) and each gradient (gradient(wrt))."""
    out = {
        "value": _oracle_bits(
            lambda: result.rounded(dtype), result.exact, dtype, int(np.prod(result.output_shape))
        )
    }
    for wrt in wrts:
        out[wrt] = _oracle_bits(
            lambda wrt=wrt: result.gradient(wrt, dtype, grad_output),
            lambda wrt=wrt: result.gradient_exact(wrt, grad_output),
            dtype,
            n,
        )
    return out


def _element_quantities(function: str, pts: Points, i: int, weighted=True, pos=True):
    x, y = Fraction(float(pts.x[i])), Fraction(float(pts.y[i]))
    w = Fraction(float(pts.w[i])) if weighted else Fraction(1)
    if function == "binary_cross_entropy":
        return ref.bce_quantities(x, y, w)
    p = Fraction(float(pts.p[i])) if pos else Fraction(1)
    return ref.logits_quantities(x, y, w, p)


@dataclass
class Row:
    function: str
    dtype: str
    quantity: str
    points: int = 0
    disagreements: int = 0
    oracle_errors: int = 0
    reference_errors: int = 0


@dataclass
class Report:
    rows: dict = field(default_factory=dict)
    how: dict = field(default_factory=dict)  # how the reference certified: literal/algebra/...
    failures: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)

    def row(self, function, dtype, quantity) -> Row:
        key = (function, dtype, quantity)
        if key not in self.rows:
            self.rows[key] = Row(function, dtype, quantity)
        return self.rows[key]

    @property
    def clean(self) -> bool:
        return not any(
            r.disagreements or r.oracle_errors or r.reference_errors for r in self.rows.values()
        )

    def table(self) -> str:
        lines = [
            f"{'function':34} {'format':9} {'quantity':22} {'points':>7} {'disagree':>8}"
            f" {'oracle-err':>10} {'ref-err':>7}"
        ]
        for r in self.rows.values():
            lines.append(
                f"{r.function:34} {r.dtype:9} {r.quantity:22} {r.points:7d}"
                f" {r.disagreements:8d} {r.oracle_errors:10d} {r.reference_errors:7d}"
            )
        return "\n".join(lines)

    def describe(self, limit: int = 12) -> str:
        out = [self.table(), "", f"{len(self.failures)} failures; the first {limit}:"]
        out += self.failures[:limit]
        return "\n".join(out)


def _fmt_args(function, pts: Points, i, weighted=True, pos=True) -> str:
    names = ["input", "target"] + (["weight"] if weighted else [])
    vals = [pts.x[i], pts.y[i]] + ([pts.w[i]] if weighted else [])
    if function == "binary_cross_entropy_with_logits" and pos:
        names.append("pos_weight")
        vals.append(pts.p[i])
    return ", ".join(f"{n}={float(v).hex()}" for n, v in zip(names, vals))


def _compare(report, function, dtype, label, oracle_bits, oracle_errors, ref_values, describe):
    """Record one quantity: oracle bits against the reference's rounded floats (None: error)."""
    fmt = ref.TARGET_FORMATS[dtype]
    row = report.row(function, dtype, label)
    ok_idx = [i for i, v in enumerate(ref_values) if not isinstance(v, str)]
    ref_bits = np.zeros(len(ref_values), dtype=np.uint64)
    if ok_idx:
        ref_bits[ok_idx] = ref.to_bits([ref_values[i] for i in ok_idx], fmt).astype(np.uint64)
    for i, v in enumerate(ref_values):
        row.points += 1
        if isinstance(v, str):
            row.reference_errors += 1
            report.failures.append(
                f"[reference error] {function} {dtype} {label} {describe(i)}: {v}"
            )
        elif i in oracle_errors:
            row.oracle_errors += 1
            report.failures.append(
                f"[oracle error] {function} {dtype} {label} {describe(i)}: {oracle_errors[i]}"
                f" (reference {v!r})"
            )
        elif oracle_bits[i] != ref_bits[i]:
            row.disagreements += 1
            got = np.array([oracle_bits[i]], dtype=fmt.uint).view(fmt.dtype)[0]
            report.failures.append(
                f"[disagreement] {function} {dtype} {label} {describe(i)}:"
                f" oracle {float(got)!r} (0x{int(oracle_bits[i]):x}),"
                f" reference {v!r} (0x{int(ref_bits[i]):x})"
            )


def _reference_round(quantity, dtype, report) -> float | str:
    try:
        value, how = ref.round_quantity(quantity, ref.TARGET_FORMATS[dtype])
    except (ref.ReferenceUncertified, ref.ReferenceInconsistent) as exc:
        return f"{type(exc).__name__}: {exc}"
    report.how[how] = report.how.get(how, 0) + 1
    return value


def check_elementwise(function: str, dtype: str, pts: Points, report: Report) -> None:
    n = len(pts)
    t0 = time.perf_counter()
    result = _call_oracle(function, pts, dtype, "none")
    oracle_side = _oracle_side(result, dtype, n, ARGUMENTS[function])
    t1 = time.perf_counter()
    ref_side = {q: [] for q in oracle_side}
    for i in range(n):
        quantities = _element_quantities(function, pts, i)
        for q in ref_side:
            ref_side[q].append(_reference_round(quantities[q], dtype, report))
    t2 = time.perf_counter()
    for q in oracle_side:
        label = "none/value" if q == "value" else f"none/d_{q}"
        _compare(
            report,
            function,
            dtype,
            label,
            *oracle_side[q],
            ref_side[q],
            lambda i: f"({_fmt_args(function, pts, i)})",
        )
    key = (function, dtype)
    report.seconds[key] = report.seconds.get(key, (0.0, 0.0))
    report.seconds[key] = (report.seconds[key][0] + t1 - t0, report.seconds[key][1] + t2 - t1)


def _cancelling(function: str, pts: Points, rng, src: PointSource) -> Points:
    """Elements whose losses cancel exactly although their arguments differ, then (half the
    time) the random elements ``pts``.

    BCE (y log x terms): 2^-a and 2^-b weighted b and -a; log(1 - x) at x = 1 - 2^-a against
    log 2^-b; log(9/16) = 2 log(3/4); log(15/16) - log(3/4) - log(5/8) + log(1/2) = 0.
    With logits: l(x, y, w) + l(-x, 1 - y, -w) = 0 at pos_weight 1.
    """
    if function == "binary_cross_entropy":
        a, b = (float(v) for v in rng.integers(1, 8, size=2))
        designs = [
            [(2.0**-a, 1.0, b), (2.0**-b, 1.0, -a)],
            [(9 / 16, 1.0, 1.0), (3 / 4, 1.0, -2.0)],
            [(1 - 2.0**-a, 0.0, b), (2.0**-b, 1.0, -a)],
            [(15 / 16, 1.0, 1.0), (3 / 4, 1.0, -1.0), (5 / 8, 1.0, -1.0), (1 / 2, 1.0, 1.0)],
        ]
        rows = designs[int(rng.integers(0, len(designs)))]
        scale = 2.0 ** int(rng.integers(-4, 5))
        x, y, w = (np.array(col) for col in zip(*rows))
        made = Points(x, y, src.exact(w * scale), None)
    else:
        one = np.ones(len(pts))
        made = Points(
            np.concatenate([pts.x, src.exact(-pts.x)]),
            np.concatenate([pts.y, src.exact(1.0 - pts.y)]),
            np.concatenate([pts.w, -pts.w]),
            np.concatenate([one, one]),
        )
        return made
    if rng.random() < 0.5:
        return made
    return Points(
        np.concatenate([made.x, pts.x]),
        np.concatenate([made.y, pts.y]),
        np.concatenate([made.w, pts.w]),
        None,
    )


def reduced_vectors(function: str, dtype: str, count: int, seed_tag: str = ""):
    """(points, reduction, weighted, pos, grad_output) small vectors, some built to cancel."""
    rng = np.random.default_rng(
        zlib.crc32(f"reduced/{function}/{dtype}/{count}/{seed_tag}".encode())
    )
    pool = make_points(function, dtype, 8 * count + 8, seed_tag="reduced" + seed_tag)
    src = PointSource(dtype, rng)
    out = []
    for k in range(count):
        length = int(rng.integers(1, 9))
        pts = pool.take(slice(8 * k, 8 * k + length))
        kind = k % 6
        if kind == 1:  # each element and its negatively weighted twin: the loss sums to 0
            pts = Points(
                np.concatenate([pts.x, pts.x]),
                np.concatenate([pts.y, pts.y]),
                np.concatenate([pts.w, -pts.w]),
                None if pts.p is None else np.concatenate([pts.p, pts.p]),
            )
        elif kind == 2:  # one element repeated: mean is that element exactly
            idx = np.zeros(length, dtype=int)
            pts = pts.take(idx)
        elif kind == 3:  # mirrored inputs (1 - x, or -x): logs and softplus arguments merge
            mirror = 1.0 - pts.x if function == "binary_cross_entropy" else -pts.x
            mirror = src.exact(mirror)
            pts = Points(
                np.concatenate([pts.x, mirror]),
                np.concatenate([pts.y, pts.y]),
                np.concatenate([pts.w, pts.w]),
                None if pts.p is None else np.concatenate([pts.p, pts.p]),
            )
        elif kind == 4:  # exact cancellation between different arguments
            pts = _cancelling(function, pts, rng, src)
        reduction = "sum" if rng.random() < 0.5 else "mean"
        weighted = kind == 4 or rng.random() >= 0.2
        pos = function == "binary_cross_entropy_with_logits" and rng.random() >= 0.2
        go = None
        if rng.random() < 0.5:
            go = float(src.pick([1.0, -1.0, 0.5, 3.0, 0.0, src.min_sub, src.max], 1)[0])
            if rng.random() < 0.5:
                go = float(src.moderate(1, 1.0)[0])
        out.append((pts, reduction, weighted, pos, go))
    return out


def check_reduced(function: str, dtype: str, count: int, report: Report, seed_tag: str = ""):
    t_oracle = t_ref = 0.0
    for pts, reduction, weighted, pos, go in reduced_vectors(function, dtype, count, seed_tag):
        n = len(pts)
        factor = Fraction(1) if reduction == "sum" else Fraction(1, n)
        g = Fraction(1) if go is None else Fraction(go)
        wrts = [
            a
            for a in ARGUMENTS[function]
            if (a != "weight" or weighted) and (a != "pos_weight" or pos)
        ]
        t0 = time.perf_counter()
        result = _call_oracle(function, pts, dtype, reduction, weighted, pos)
        go_arg = None if go is None else np.asarray(go, dtype=ref.TARGET_FORMATS[dtype].dtype)
        o_grads = _oracle_side(result, dtype, n, wrts, go_arg)
        o_value = o_grads.pop("value")
        t1 = time.perf_counter()
        elems = [_element_quantities(function, pts, i, weighted, pos) for i in range(n)]
        r_value = _reference_round(
            ref.reduce_quantities([e["value"] for e in elems], reduction), dtype, report
        )
        r_grads = {
            a: [_reference_round(e[a].scale(factor * g), dtype, report) for e in elems]
            for a in wrts
        }
        t2 = time.perf_counter()
        t_oracle, t_ref = t_oracle + t1 - t0, t_ref + t2 - t1

        def describe(i, pts=pts, reduction=reduction, weighted=weighted, pos=pos, go=go):
            elems = "; ".join(
                f"({_fmt_args(function, pts, j, weighted, pos)})" for j in range(len(pts))
            )
            return f"[reduction={reduction} grad_output={go!r} element {i} of: {elems}]"

        _compare(report, function, dtype, f"{reduction}/value", *o_value, [r_value], describe)
        for a in wrts:
            _compare(
                report, function, dtype, f"{reduction}/d_{a}", *o_grads[a], r_grads[a], describe
            )
    key = (function, dtype)
    s = report.seconds.get(key, (0.0, 0.0))
    report.seconds[key] = (s[0] + t_oracle, s[1] + t_ref)


def cross_check(function: str, dtype: str, points: int, reduced: int, report=None) -> Report:
    report = report or Report()
    check_elementwise(function, dtype, make_points(function, dtype, points), report)
    check_reduced(function, dtype, reduced, report)
    return report


# ---------------------------------------------------------------------------------------------
# Tests of the reference itself (it must be right before it can judge)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_reference_rounding_matches_numpy_casts(dtype):
    """NumPy's float64 -> float32/float16 casts are correctly rounded (ties to even)."""
    fmt = ref.TARGET_FORMATS[dtype]
    rng = np.random.default_rng(1)
    src = PointSource("float64", rng)
    values = np.concatenate(
        [
            src.any_finite(3000),
            src.moderate(3000, 1.0),
            rng.standard_normal(2000) * 2.0 ** rng.integers(-160, 140, 2000),
        ]
    )
    # exact midpoints and their neighbours in the target format
    narrow = PointSource(dtype, rng).any_finite(1000)
    up = np.nextafter(narrow, np.inf).astype(fmt.dtype).astype(np.float64)
    mids = (narrow + up) / 2  # exact in float64
    values = np.concatenate([values, mids, np.nextafter(mids, 0), np.nextafter(mids, np.inf)])
    values = values[np.isfinite(values)]
    ours = ref.to_bits([ref.round_fraction(Fraction(v), fmt) for v in values.tolist()], fmt)
    with np.errstate(over="ignore"):  # beyond the format's range the cast gives inf, as it should
        theirs = values.astype(fmt.dtype).view(fmt.uint)
    assert np.array_equal(ours, theirs)


def test_reference_rounding_edges():
    f64, f16, bf16 = (ref.TARGET_FORMATS[k] for k in ("float64", "float16", "bfloat16"))
    assert ref.round_fraction(Fraction(1, 2**1075), f64) == 0.0  # tie between 0 and 2^-1074
    assert math.copysign(1, ref.round_fraction(Fraction(-1, 2**1075), f64)) == -1  # -0.0
    assert ref.round_fraction(Fraction(3, 2**1076), f64) == 2.0**-1074
    assert ref.round_fraction(Fraction(65520), f16) == math.inf  # midpoint to 2^16: even
    assert ref.round_fraction(Fraction(65519), f16) == 65504.0
    assert ref.round_fraction(Fraction(1, 3), bf16) == float.fromhex("0x1.56p-2")
    assert ref.round_dyadic(1, -(10**400), f64) == 0.0
    assert ref.round_dyadic(-1, 10**400, f64) == -math.inf


def test_reference_exact_and_known_values():
    f64 = ref.TARGET_FORMATS["float64"]
    half = Fraction(1, 2)
    q = ref.bce_quantities(half, half, Fraction(1))
    assert ref.round_quantity(q["value"], f64) == (float.fromhex("0x1.62e42fefa39efp-1"), "literal")
    assert ref.round_quantity(q["target"], f64) == (0.0, "exact")  # log x - log(1 - x) = 0
    q = ref.logits_quantities(Fraction(0), Fraction(1), Fraction(-1), Fraction(1))
    assert ref.round_quantity(q["target"], f64) == (0.0, "exact")  # sp(0) - sp(0)
    # y = 1, p = 1: d/dy = sp(-x) - sp(x) = -x exactly; 2^53 + 1 is a float64 midpoint (tie: even)
    big = Fraction(2**53 + 1)
    q = ref.logits_quantities(big, Fraction(1), Fraction(1), Fraction(1))
    assert ref.round_quantity(q["target"], f64) == (-float(2**53), "algebra")
    q = ref.logits_quantities(Fraction(10**6), Fraction(1), Fraction(1), Fraction(1))
    value, how = ref.round_quantity(q["input"], f64)  # sigmoid(x) - 1 = -sigmoid(-x) < 0
    assert math.copysign(1, value) == -1 and value == 0 and how == "folded"
    assert ref.log_is_clamped(Fraction(26, 2**149)) and not ref.log_is_clamped(Fraction(27, 2**149))


# ---------------------------------------------------------------------------------------------
# The cross-check
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_oracle_agrees_with_arb_reference(function, dtype):
    report = cross_check(function, dtype, FAST_POINTS, FAST_REDUCED)
    assert report.clean, report.describe()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_oracle_agrees_with_arb_reference_exhaustive(function, dtype):
    report = cross_check(function, dtype, FULL_POINTS, FULL_REDUCED)
    assert report.clean, report.describe()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=FULL_POINTS)
    parser.add_argument("--reduced", type=int, default=FULL_REDUCED)
    parser.add_argument("--function", action="append", choices=FUNCTIONS)
    parser.add_argument("--dtype", action="append", choices=DTYPES)
    parser.add_argument("--failures", type=int, default=20, help="how many failures to print")
    args = parser.parse_args(argv)
    report = Report()
    start = time.perf_counter()
    for function in args.function or FUNCTIONS:
        for dtype in args.dtype or DTYPES:
            t = time.perf_counter()
            cross_check(function, dtype, args.points, args.reduced, report)
            o, r = report.seconds[(function, dtype)]
            print(
                f"# {function} {dtype}: {time.perf_counter() - t:.1f} s"
                f" (oracle {o:.1f} s, reference {r:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    print(report.table())
    print(f"\nreference certified by: {report.how}")
    print(f"total {time.perf_counter() - start:.1f} s")
    if report.failures:
        print(f"\n{len(report.failures)} failures; the first {args.failures}:")
        print("\n".join(report.failures[: args.failures]))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
