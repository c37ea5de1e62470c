"""Break-the-bound tests of the float64 fast path: every double-word ball (oracle.fast.balls)
must contain the exact value.

Checked: the ball operations against exact rational arithmetic (random operands over the whole
exponent range, cancellations, products near the underflow guard, quotients of tiny and huge
numbers); the float64 rounding decision against Python's correctly rounded Fraction -> float;
exp_neg and log_ball against Arb; and every quantity of both functions at random and adversarial
float64 points (near powers of two, x near 0, 1 and e^-100, exp reduction boundaries
(k + 1/2) ln 2 / 64, |x| near 665 and 700, p near 1, targets next to x or sigmoid(x), weights
that push results to the subnormal range or to overflow) against python-flint's Arb at 1100 bits
(4000 when a ball straddles an endpoint). The unmarked tests take a few seconds; the slow one
checks over 10^6 enclosures (``pytest -m slow``), or run

    python -m tests.oracle_fast.test_bounds_float64 --points 1000000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("flint")
from flint import arb, ctx  # noqa: E402

from oracle import fast  # noqa: E402
from oracle.fast import balls as B  # noqa: E402
from oracle.fast import elementary_dd as ed  # noqa: E402
from oracle.fast.rounding import decide_float64  # noqa: E402

try:
    from tests import arb_reference as ref  # noqa: E402
    from tests.oracle_fast import points  # noqa: E402
except ImportError:  # pragma: no cover
    import arb_reference as ref  # type: ignore[no-redef]  # noqa: E402

    from oracle_fast import points  # type: ignore[no-redef]  # noqa: E402

PRECISIONS = (1100, 4000)
QUANTITIES = {
    "binary_cross_entropy": ("value", "input", "target", "weight"),
    "binary_cross_entropy_with_logits": ("value", "input", "target", "weight", "pos_weight"),
}
LN2 = math.log(2)


def _q(v: float) -> Fraction:
    return Fraction(float(v))


def _ends(h, l, r) -> tuple[Fraction, Fraction]:  # noqa: E741
    c = _q(h) + _q(l)
    return c - _q(r), c + _q(r)


def _inside(make_ball, lo: Fraction, hi: Fraction) -> bool:
    """Whether the reference value lies in [lo, hi] (escalating precision when undecided)."""
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
# Ball operations against exact rationals
# ---------------------------------------------------------------------------------------------


def _random_balls(rng, n: int) -> B.Ball:
    """Normalized double-words over a wide exponent range with radii from 0 to 2^-60 |h|."""
    e = rng.integers(-1000, 1000, size=n)
    e = np.where(rng.random(n) < 0.3, rng.integers(-60, 60, size=n), e)
    h = np.ldexp(rng.random(n) + 0.5, e) * np.where(rng.random(n) < 0.5, -1, 1)
    h = np.where(rng.random(n) < 0.05, 2.0 ** e.astype(np.float64), h)  # powers of two
    h = np.where(rng.random(n) < 0.03, 0.0, h)
    frac = rng.random(n) - 0.5
    frac = np.where(rng.random(n) < 0.1, 0.5, frac)  # l at the normalization limit
    l = np.where(h == 0, 0.0, h * frac * 2.0**-53)  # noqa: E741
    l = np.where(np.abs(l) + np.abs(h) == np.abs(h + l), l, 0.0)  # noqa: E741
    r = np.abs(h) * rng.random(n) * 2.0 ** -rng.integers(60, 120, size=n)
    r = np.where(rng.random(n) < 0.3, 0.0, r)
    return h, l, r


def _pair_cases(rng, n: int) -> tuple[B.Ball, B.Ball]:
    x = _random_balls(rng, n)
    y = _random_balls(rng, n)
    # cancellations: y close to -x; products near the underflow guard 2^-968
    close = rng.random(n) < 0.2
    yh = np.where(close, -x[0] * (1 + rng.integers(-4, 5, size=n) * 2.0**-52), y[0])
    y = (yh, np.where(close, x[1] * (rng.random(n) - 0.5), y[1]), y[2])
    near = rng.random(n) < 0.1
    target = 2.0 ** -rng.integers(960, 975, size=n)
    yh = np.where(near & (x[0] != 0), target / np.where(x[0] == 0, 1.0, x[0]), y[0])
    y = (yh, np.where(near, 0.0, y[1]), y[2])
    return x, y


def _exact_op(op: str, xs: list[Fraction], ys: list[Fraction]):
    """Exact results at the extreme points of the operand balls (the operations are monotone in
    each operand on a ball that excludes 0 for division)."""
    out = []
    for a in xs:
        for b in ys:
            if op == "add":
                out.append(a + b)
            elif op == "mul":
                out.append(a * b)
            elif b != 0:
                out.append(a / b)
    return out


def check_ball_operations(n: int, seed: int, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    x, y = _pair_cases(rng, n)
    f = y[0]
    with np.errstate(all="ignore"):
        results = {
            "add": B.add(x, y),
            "mul": B.mul(x, y),
            "div": B.div(x, y),
            "mul_float": B.mul_float(x, f),
            "add_float": B.add_float(x, f),
        }
    for op, z in results.items():
        for i in range(n):
            if not (np.isfinite(z[0][i]) and np.isfinite(z[1][i]) and np.isfinite(z[2][i])):
                continue
            cx, rx = _q(x[0][i]) + _q(x[1][i]), _q(x[2][i])
            if op.endswith("_float"):
                cy, ry = _q(f[i]), Fraction(0)
            else:
                cy, ry = _q(y[0][i]) + _q(y[1][i]), _q(y[2][i])
            base = op.split("_")[0]
            values = _exact_op(base, [cx - rx, cx + rx], [cy - ry, cy + ry])
            lo, hi = _ends(z[0][i], z[1][i], z[2][i])
            ok = all(lo <= v <= hi for v in values)
            # the center stays a normalized double-word
            ok &= abs(_q(z[1][i])) <= abs(_q(z[0][i])) * Fraction(1, 2**53)
            tally.add(ok, f"{op}({x[0][i]!r}, {x[1][i]!r}, {x[2][i]!r}; {y[0][i]!r}, ...)")


def check_float64_decision(n: int, seed: int, tally: Tally) -> None:
    """A decided ball rounds to h at both ends (Python's Fraction -> float rounds correctly)."""
    rng = np.random.default_rng(seed)
    h = np.ldexp(rng.random(n) + 0.5, rng.integers(-1000, 1020, size=n))
    h = np.where(rng.random(n) < 0.3, 2.0 ** rng.integers(-968, 1023, size=n).astype(float), h)
    h = np.where(rng.random(n) < 0.05, np.finfo(np.float64).max, h)
    h = h * np.where(rng.random(n) < 0.5, -1, 1)
    with np.errstate(over="ignore"):
        ulp = np.spacing(np.abs(h))
    frac = np.where(rng.random(n) < 0.3, rng.choice([0.5, -0.5, 0.25, -0.25], size=n), 0.0)
    l = ulp * (frac + (rng.random(n) - 0.5) * np.where(frac == 0, 1.0, 2.0**-30))  # noqa: E741
    r = ulp * 2.0 ** -rng.integers(1, 60, size=n)
    decided, bits = decide_float64(h, l, r, np.ones(n, dtype=bool))
    assert decided.any() and not decided.all()
    for i in np.flatnonzero(decided).tolist():
        lo, hi = _ends(h[i], l[i], r[i])
        want = float(h[i])
        ok = float(lo) == want == float(hi) and bits[i] == np.float64(want).view(np.uint64)
        tally.add(bool(ok), f"decide({h[i]!r}, {l[i]!r}, {r[i]!r})")


# ---------------------------------------------------------------------------------------------
# Elementary functions and quantities against Arb
# ---------------------------------------------------------------------------------------------


def check_elementary(n: int, seed: int, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 64 * 1010, size=n)
    fams = [
        (k + 0.5) * (LN2 / 64) * (1 + rng.integers(-8, 9, size=n) * 2.0**-52),
        k * (LN2 / 64) * (1 + rng.integers(-8, 9, size=n) * 2.0**-52),
        rng.random(n) * 700,
        2.0 ** -rng.integers(1, 1075, size=n),
        700 - rng.random(n) * 2.0 ** -rng.integers(0, 40, size=n),
        rng.random(n),
    ]
    t = np.clip(points._choose(rng, n, fams), 0.0, 700.0)
    with np.errstate(all="ignore"):
        h, l, r = ed.exp_neg(t)  # noqa: E741
    for i, ti in enumerate(t.tolist()):
        if not np.isfinite(r[i]):
            continue
        lo, hi = _ends(h[i], l[i], r[i])
        tally.add(_inside(lambda ti=ti: (-arb(ti)).exp(), lo, hi), f"exp_neg({ti!r})")
    a = np.concatenate(
        [
            points.unit_arguments(rng, n // 2),
            2.0 ** (rng.random(n - n // 2) * 2000 - 1000),
        ]
    )
    near = np.array([181, 256, 362, 200, 300]) / 256.0 * 2.0 ** rng.integers(-5, 5, size=5)[0]
    a[: near.size] = near
    with np.errstate(all="ignore"):
        h, l, r = ed.log_ball(B.exact(a))  # noqa: E741
    for i, ai in enumerate(a.tolist()):
        if not np.isfinite(r[i]):
            continue
        lo, hi = _ends(h[i], l[i], r[i])
        tally.add(_inside(lambda ai=ai: arb(ai).log(), lo, hi), f"log_ball({ai!r})")
    # log(1 - x) of an exact double-word 1 - x (BCE's L1)
    x = points.unit_arguments(rng, n)
    s, e = np.ones_like(x) - x, (np.ones_like(x) - (np.ones_like(x) - x)) - x
    with np.errstate(all="ignore"):
        h, l, r = ed.log_ball((s, e, np.zeros_like(x)))  # noqa: E741
    for i, xi in enumerate(x.tolist()):
        if not np.isfinite(r[i]):
            continue
        lo, hi = _ends(h[i], l[i], r[i])
        tally.add(_inside(lambda xi=xi: (-arb(xi)).log1p(), lo, hi), f"log_ball(1 - {xi!r})")


def check_log_of_one_plus_tiny(n: int, seed: int, tally: Tally) -> int:
    """log_ball of the double-words 1 + d and 2 - d with |d| from 2^-1074 to 2^-890 (the
    ``tiny`` branch, |rho| <= 2^-900, around its threshold); returns how many were finite."""
    rng = np.random.default_rng(seed)
    d = (1 + rng.random(n)) * 2.0 ** -rng.integers(890, 1075, size=n).astype(np.float64)
    d = np.where(rng.random(n) < 0.5, -d, d)
    head = np.where(rng.random(n) < 0.5, 1.0, 2.0)
    with np.errstate(all="ignore"):
        h, l, r = ed.log_ball((head, d, np.zeros_like(d)))  # noqa: E741
    finite = 0
    for i in range(n):
        if not np.isfinite(r[i]):
            continue
        finite += 1
        lo, hi = _ends(h[i], l[i], r[i])
        hi_, di = float(head[i]), float(d[i])
        tally.add(
            _inside(lambda hi_=hi_, di=di: (arb(hi_) + arb(di)).log(), lo, hi),
            f"log_ball({hi_!r} + {di!r})",
        )
    return finite


def adversarial_arguments(function: str, rng, n: int) -> dict[str, np.ndarray]:
    """Float64 points aimed at the double-word bounds (on top of points.arguments)."""
    args = points.arguments(function, rng, n, "float64")
    pick = rng.random(n)
    ulps = rng.integers(-4, 5, size=n) * 2.0**-52
    if function == "binary_cross_entropy":
        x = args["x"]
        fams = [
            x,
            1.0 - rng.integers(1, 2**20, size=n) * 2.0**-53,
            2.0 ** -rng.integers(1, 140, size=n) * (1 + ulps),
            2.0**-140 * (1 + rng.random(n)),
            0.5 * (1 + ulps),
        ]
        x = np.clip(points._choose(rng, n, fams), 0.0, 1.0)
        y = np.where(pick < 0.2, np.clip(x * (1 + ulps), 0, 1), args["y"])
        args.update(x=x, y=y)
    else:
        k = rng.integers(0, 64 * 1010, size=n)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        fams = [
            args["x"],
            sign * (k + 0.5) * (LN2 / 64) * (1 + ulps),
            sign * (660 + rng.random(n) * 45),
            sign * 2.0 ** -rng.integers(1, 1074, size=n),
        ]
        x = points._choose(rng, n, fams)
        sig = 1 / (1 + np.exp(-np.clip(x, -700, 700)))  # only to aim the points
        y = np.where(pick < 0.2, sig * (1 + ulps), args["y"])
        p = np.where(rng.random(n) < 0.2, 1 + ulps, args["p"])
        args.update(x=x, y=y, p=p)
    w = args["w"]
    scale = 2.0 ** rng.integers(-1070, 1020, size=n).astype(np.float64)
    args["w"] = np.where(rng.random(n) < 0.15, scale * np.sign(w + 0.5), w)
    return args


def _reference(function: str, args: dict, i: int) -> dict:
    x, y, w = (Fraction(float(args[k][i])) for k in ("x", "y", "w"))
    if function == "binary_cross_entropy":
        return ref.bce_quantities(x, y, w)
    return ref.logits_quantities(x, y, w, Fraction(float(args["p"][i])))


def check_quantities(function: str, n: int, seed: int, tally: Tally) -> int:
    """Checks every quantity's ball at ``n`` points; returns how many were on the fast path."""
    rng = np.random.default_rng(seed)
    args = adversarial_arguments(function, rng, n)
    encs = {
        q: fast.enclose_ball_arrays(function, q, args["x"], args["y"], args["w"], args.get("p"))
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

            lo, hi = _ends(e.h[i], e.l[i], e.r[i])
            where = {k: float(v[i]) for k, v in args.items()}
            tally.add(_inside(ball, lo, hi), f"{function} {q} {where}")
    return on_path


def run(n_points: int, seed: int = 0, verbose: bool = False) -> Tally:
    tally = Tally()
    start = time.time()
    per = max(1, n_points // 8)
    steps = [
        ("ball operations", lambda: check_ball_operations(per, seed, tally)),
        ("decision", lambda: check_float64_decision(per, seed + 1, tally)),
        ("elementary", lambda: check_elementary(per // 2, seed + 2, tally)),
    ] + [
        (f, lambda f=f, k=k: check_quantities(f, per, seed + 3 + k, tally))
        for k, f in enumerate(QUANTITIES)
    ]
    for name, step in steps:
        step()
        if verbose:
            print(
                f"{name:34s} checked so far {tally.checked} violations {len(tally.violations)}"
                f" ({time.time() - start:.0f}s)",
                flush=True,
            )
    return tally


def test_ball_operations_contain_the_exact_results():
    tally = Tally()
    check_ball_operations(400, seed=11, tally=tally)
    assert tally.checked > 1500
    assert not tally.violations, tally.violations[:5]


def test_float64_decision_is_the_correct_rounding():
    tally = Tally()
    check_float64_decision(3000, seed=12, tally=tally)
    assert tally.checked > 300
    assert not tally.violations, tally.violations[:5]


def test_double_word_exp_and_log_contain_the_arb_value():
    tally = Tally()
    check_elementary(400, seed=13, tally=tally)
    assert tally.checked >= 1100
    assert not tally.violations, tally.violations[:5]


def test_log_of_one_plus_a_tiny_double_word_is_a_finite_ball_holding_the_arb_value():
    tally = Tally()
    assert check_log_of_one_plus_tiny(300, seed=14, tally=tally) == 300
    assert not tally.violations, tally.violations[:5]


def test_logits_value_at_tiny_and_huge_x_is_decided_by_the_fast_path_as_the_exact_path_does():
    """Before the tiny branch of log_ball, |x| < about 2^-960 sent the with-logits value to the
    exact path (1.3 ms each), and before the scaled products |x| > 2^995 did (6 ms each):
    together 6 % of a float64 sweep's binades."""
    import oracle

    rng = np.random.default_rng(15)
    x = (1 + rng.random(64)) * 2.0 ** -rng.integers(900, 1075, size=64).astype(np.float64)
    huge = (1 + rng.random(32)) * 2.0 ** rng.integers(990, 1024, size=32).astype(np.float64)
    x = np.concatenate([x, -x, huge, -huge, [5e-324, -5e-324, 0.0, np.finfo(np.float64).max]])
    y = rng.choice([0.0, 0.5, 1.0, 0.25], size=x.size)
    p = rng.choice([1.0, 3.0, 0.5], size=x.size)
    quantities = ("value", "input", "target", "pos_weight")

    def bits(enabled: bool) -> tuple[dict, dict]:
        fast.set_enabled(enabled)
        try:
            # decidable: no overflow of p y |x|, and (1 - y) x, p y x exact floats (a soft y can
            # make 3x/4 an exact midpoint, which only the exact path rounds: docs 10.7)
            small = (np.abs(x) <= 2.0**1021) & ((y == 0) | (y == 1)) & (p == 1)
            fast.STATS.update(fast=0, exact=0)
            oracle.binary_cross_entropy_with_logits(
                x[small], y[small], pos_weight=p[small], reduction="none"
            ).rounded("float64")
            value_stats = dict(fast.STATS), int(small.sum())
            r = oracle.binary_cross_entropy_with_logits(x, y, pos_weight=p, reduction="none")
            out = {"value": r.rounded("float64").view(np.uint64)}
            for q in quantities[1:]:  # tiny results (x/4, -x) stay exact by design (10.7)
                out[q] = r.gradient(q, "float64").view(np.uint64)
            return out, value_stats
        finally:
            fast.set_enabled(True)

    (fast_bits, value_stats), (exact_bits, _) = bits(True), bits(False)
    for q in quantities:
        np.testing.assert_array_equal(fast_bits[q], exact_bits[q], err_msg=q)
    stats, decidable = value_stats
    assert stats == {"fast": decidable, "exact": 0}


@pytest.mark.parametrize("function", list(QUANTITIES))
def test_float64_quantity_balls_contain_the_arb_value(function):
    tally = Tally()
    on = check_quantities(function, 400, seed=len(function), tally=tally)
    assert on > 200
    assert not tally.violations, tally.violations[:5]


@pytest.mark.slow
def test_float64_balls_long_run():
    tally = run(620_000, seed=5)
    assert tally.checked >= 1_000_000
    assert not tally.violations, tally.violations[:5]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(argv)
    start = time.time()
    tally = run(a.points, a.seed, verbose=True)
    print(
        f"enclosures checked: {tally.checked}, violations: {len(tally.violations)},"
        f" {time.time() - start:.0f} s"
    )
    for v in tally.violations[:20]:
        print("VIOLATION", v)
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
