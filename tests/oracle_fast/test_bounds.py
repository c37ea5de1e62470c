"""Break-the-bound tests: every fast-path enclosure must contain the value computed by an
independent reference (python-flint's Arb at >= 1100 bits, tests/arb_reference.py).

Checked: the elementary functions of oracle.fast.elementary against their stated relative bounds
(exp_neg, log1p_series) and intervals (log_interval, log1p_interval, log1m_interval), and the
enclosure of every quantity of both functions at random and adversarial points of each format
(tests/oracle_fast/points.py). A ball that straddles an endpoint is recomputed at 4000 bits; one
that still does counts as a violation. CI runs a few tens of thousands of points; the long run is

    python -m tests.oracle_fast.test_bounds --points 1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("flint")
from flint import arb, ctx  # noqa: E402

from oracle import fast  # noqa: E402
from oracle.fast import elementary as el  # noqa: E402

try:
    from tests import arb_reference as ref  # noqa: E402
    from tests.oracle_fast import points  # noqa: E402
except ImportError:  # pragma: no cover
    import arb_reference as ref  # type: ignore[no-redef]  # noqa: E402

    from oracle_fast import points  # type: ignore[no-redef]  # noqa: E402

PRECISIONS = (1100, 4000)
DTYPES = ("float32", "float16", "bfloat16")
QUANTITIES = {
    "binary_cross_entropy": ("value", "input", "target", "weight"),
    "binary_cross_entropy_with_logits": ("value", "input", "target", "weight", "pos_weight"),
}


def _inside(make_ball, lo: float, hi: float) -> bool:
    """Whether the reference value lies in [lo, hi] (escalating precision when undecided)."""
    old = ctx.prec
    try:
        for prec in PRECISIONS:
            ctx.prec = prec
            ball = make_ball()
            if ball.lower() >= arb(lo) and ball.upper() <= arb(hi):
                return True
            if ball.upper() < arb(lo) or ball.lower() > arb(hi):
                return False
        return False
    finally:
        ctx.prec = old


def _relative_interval(v: float, eta: float) -> tuple[float, float]:
    """[v - eta |v|, v + eta |v|] as exact dyadic Arb-representable floats-of-arb (returned as
    Fractions so that the comparison is exact)."""
    q = Fraction(v)
    return q - abs(q) * Fraction(eta), q + abs(q) * Fraction(eta)


def _inside_relative(make_ball, v: float, eta: float) -> bool:
    lo, hi = _relative_interval(v, eta)
    old = ctx.prec
    try:
        for prec in PRECISIONS:
            ctx.prec = prec
            ball = make_ball()
            a, b = ref.arb_of(lo), ref.arb_of(hi)
            if ball.lower() >= a and ball.upper() <= b:
                return True
            if ball.upper() < a or ball.lower() > b:
                return False
        return False
    finally:
        ctx.prec = old


class Tally:
    def __init__(self):
        self.checked = 0
        self.violations: list[str] = []

    def add(self, ok: bool, what: str) -> None:
        self.checked += 1
        if not ok:
            self.violations.append(what)


# ---------------------------------------------------------------------------------------------
# Elementary functions
# ---------------------------------------------------------------------------------------------


def check_elementary(n: int, seed: int, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    t = points.exp_arguments(rng, n)
    v = el.exp_neg(t)
    for ti, vi in zip(t.tolist(), v.tolist(), strict=True):
        ok = _inside_relative(lambda ti=ti: (-arb(ti)).exp(), vi, el.ETA_EXP)
        tally.add(ok, f"exp_neg({ti!r}) = {vi!r}")
    f = np.concatenate(
        [
            -points.unit_arguments(rng, n // 2) * 0.2929,
            points.unit_arguments(rng, n - n // 2) * 0.5,
        ]
    )
    f = np.clip(f, -0.2929, 0.5)
    f = np.where(np.abs(f) < 2.0**-1020, 0.0, f)
    v = el.log1p_series(f)
    for fi, vi in zip(f.tolist(), v.tolist(), strict=True):
        ok = _inside_relative(lambda fi=fi: arb(fi).log1p(), vi, el.ETA_LOG1P)
        tally.add(ok, f"log1p_series({fi!r}) = {vi!r}")
    a = points.unit_arguments(rng, n)
    for name, fn, ball in (
        ("log_interval", el.log_interval, lambda x: arb(x).log()),
        ("log1p_interval", el.log1p_interval, lambda x: arb(x).log1p()),
        ("log1m_interval", el.log1m_interval, lambda x: (-arb(x)).log1p()),
    ):
        lo, hi = fn(a)
        for ai, li, hi_ in zip(a.tolist(), lo.tolist(), hi.tolist(), strict=True):
            tally.add(
                _inside(lambda ai=ai, b=ball: b(ai), li, hi_), f"{name}({ai!r}) = [{li}, {hi_}]"
            )
    wide = 2.0 ** (rng.random(n) * 2040 - 1020)  # log over the whole normal range
    lo, hi = el.log_interval(wide)
    for ai, li, hi_ in zip(wide.tolist(), lo.tolist(), hi.tolist(), strict=True):
        tally.add(_inside(lambda ai=ai: arb(ai).log(), li, hi_), f"log_interval({ai!r})")


# ---------------------------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------------------------


def _reference(function: str, args: dict, i: int) -> dict:
    x, y, w = (Fraction(float(args[k][i])) for k in ("x", "y", "w"))
    if function == "binary_cross_entropy":
        return ref.bce_quantities(x, y, w)
    return ref.logits_quantities(x, y, w, Fraction(float(args["p"][i])))


def check_quantities(function: str, dtype: str, n: int, seed: int, tally: Tally) -> int:
    """Checks every quantity's enclosure at ``n`` points; returns how many were on the fast path."""
    rng = np.random.default_rng(seed)
    args = points.arguments(function, rng, n, dtype)
    encs = {
        q: fast.enclose_arrays(function, q, args["x"], args["y"], args["w"], args.get("p"))
        for q in QUANTITIES[function]
    }
    on_path = 0
    for i in range(n):
        if not any(e.ok[i] for e in encs.values()):
            continue
        on_path += 1
        quantities = _reference(function, args, i)
        for q, e in encs.items():
            if not e.ok[i]:
                continue
            folded = quantities[q].folded()

            def ball(folded=folded):
                return folded.ball(ctx.prec, atoms=ref.STABLE_ATOMS)

            where = {k: float(v[i]) for k, v in args.items()}
            tally.add(_inside(ball, float(e.lo[i]), float(e.hi[i])), f"{function} {q} {where}")
    return on_path


def run(n_points: int, seed: int = 0, verbose: bool = False) -> tuple[Tally, dict]:
    """All checks with about ``n_points`` points in total."""
    tally = Tally()
    info = {}
    per = max(1, n_points // (2 * len(DTYPES) + 1))
    start = time.time()
    check_elementary(max(1, per // 4), seed, tally)
    info["elementary"] = tally.checked
    for k, function in enumerate(QUANTITIES):
        for j, dtype in enumerate(DTYPES):
            before = tally.checked
            on = check_quantities(function, dtype, per, seed + 10 * k + j + 1, tally)
            info[f"{function}/{dtype}"] = (per, on, tally.checked - before)
            if verbose:
                print(
                    f"{function:34s} {dtype:9s} points {per} on fast path {on}"
                    f" enclosures checked {tally.checked - before}"
                    f" violations so far {len(tally.violations)} ({time.time() - start:.0f}s)",
                    flush=True,
                )
    return tally, info


@pytest.mark.parametrize("function", list(QUANTITIES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_quantity_enclosures_contain_the_arb_value(function, dtype):
    tally = Tally()
    on = check_quantities(function, dtype, 2500, seed=hash((function, dtype)) % 1000, tally=tally)
    assert on > 1000  # most points are on the fast path, so the test checks something
    assert not tally.violations, tally.violations[:5]


def test_elementary_functions_keep_their_stated_bounds():
    tally = Tally()
    check_elementary(2000, seed=7, tally=tally)
    assert tally.checked >= 10000
    assert not tally.violations, tally.violations[:5]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(argv)
    if a.points < 1:
        print("error: --points must be positive", file=sys.stderr)
        return 2
    start = time.time()
    tally, _ = run(a.points, a.seed, verbose=True)
    print(
        f"enclosures checked: {tally.checked}, violations: {len(tally.violations)},"
        f" {time.time() - start:.0f} s"
    )
    for v in tally.violations[:20]:
        print("VIOLATION", v)
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
