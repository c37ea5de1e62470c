"""The oracle's speed: the certified oracle against a plain mpmath loop and against its exact path.

    python benchmarks/bench_oracle.py [--n 100000] [--plain 2000] [--exact 300] [--big 10000000]

For each function, quantity (the value and every gradient) and format, on the same inputs (the
first elements of one deterministic draw), three throughputs in elements per second:

* ``oracle``: the certified oracle as the harness calls it (a fresh call, then ``rounded`` or
  ``gradient`` into the format), on ``--n`` elements;
* ``plain``: an uncertified per-element mpmath loop at 60 digits, the formula as written,
  converted to the format, on the first ``--plain`` elements;
* ``exact``: the oracle with its fast path switched off (the exact path alone, O(N) sums and
  per-element caching included), on the first ``--exact`` elements;

and the ratios oracle/plain and oracle/exact (above 1: the oracle is faster). Then ``mean``
against ``none`` at 10^6 elements, and ``--big`` float32 elements certified in one call.
Timings on a shared machine are noisy; the ratios come from one run.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import ml_dtypes
import numpy as np
from mpmath import mp

import oracle
from oracle import fast

DTYPES = {
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
    "float64": np.float64,
}
QUANTITIES = {
    "binary_cross_entropy": ("value", "input", "target", "weight"),
    "binary_cross_entropy_with_logits": ("value", "input", "target", "weight", "pos_weight"),
}


def inputs(function: str, n: int, dtype) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    if function == "binary_cross_entropy":
        args = {"x": rng.random(n), "y": rng.random(n), "w": rng.random(n) * 2}
    else:
        args = {
            "x": rng.standard_normal(n) * 4,
            "y": rng.random(n),
            "w": rng.random(n) * 2,
            "p": rng.random(n) * 3,
        }
    return {k: v.astype(dtype) for k, v in args.items()}


def oracle_call(function: str, quantity: str, args: dict, dtype) -> np.ndarray:
    kw = {"weight": args["w"], "reduction": "none"}
    if "p" in args:
        kw["pos_weight"] = args["p"]
    r = getattr(oracle, function)(args["x"], args["y"], **kw)
    return r.rounded(dtype) if quantity == "value" else r.gradient(quantity, dtype)


def _plain_element(function: str, quantity: str, x, y, w, p):
    if function == "binary_cross_entropy":
        lx, l1 = max(mp.log(x), -100) if x else -100, max(mp.log(1 - x), -100) if x < 1 else -100
        if quantity == "value":
            return -w * (y * lx + (1 - y) * l1)
        if quantity == "input":  # 1/x and 1/(1 - x) count 0 where their log is clamped
            d1 = 1 / x if lx != -100 else 0
            d2 = 1 / (1 - x) if l1 != -100 else 0
            return -w * (y * d1 - (1 - y) * d2)
        if quantity == "target":
            return -w * (lx - l1)
        return -(y * lx + (1 - y) * l1)
    sp_neg, sp_pos = mp.log1p(mp.exp(-x)), mp.log1p(mp.exp(x))
    if quantity == "value":
        return w * (p * y * sp_neg + (1 - y) * sp_pos)
    if quantity == "input":
        return w * ((1 - y + p * y) / (1 + mp.exp(-x)) - p * y)
    if quantity == "target":
        return w * (p * sp_neg - sp_pos)
    if quantity == "weight":
        return p * y * sp_neg + (1 - y) * sp_pos
    return w * y * sp_neg


def plain_loop(function: str, quantity: str, args: dict, dtype) -> np.ndarray:
    """Per element, at 60 digits, no certificate: what a careful test would write by hand."""
    cols = [args[k].astype(np.float64).tolist() for k in ("x", "y", "w")]
    ps = args["p"].astype(np.float64).tolist() if "p" in args else [1.0] * len(cols[0])
    out = []
    with mp.workdps(60):
        for x, y, w, p in zip(*cols, ps, strict=True):
            v = _plain_element(function, quantity, mp.mpf(x), mp.mpf(y), mp.mpf(w), mp.mpf(p))
            out.append(float(v))
    return np.array(out).astype(dtype)


def rate(fn, n: int, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def head(args: dict, k: int) -> dict:
    return {name: v[:k] for name, v in args.items()}


def ratios(n: int, n_plain: int, n_exact: int, formats: list[str]) -> None:
    print(
        f"{'function':34s} {'quantity':10s} {'format':8s} {'oracle/s':>10s} {'plain/s':>9s}"
        f" {'exact/s':>9s} {'vs plain':>9s} {'vs exact':>9s}"
    )
    for function, quantities in QUANTITIES.items():
        for name in formats:
            dtype = DTYPES[name]
            big = inputs(function, n, dtype)
            for q in quantities:
                o = rate(partial(oracle_call, function, q, big, dtype), len(big["x"]))
                small = head(big, n_plain)
                pl = rate(partial(plain_loop, function, q, small, dtype), len(small["x"]))
                fast.set_enabled(False)
                try:
                    few = head(big, n_exact)
                    ex = rate(partial(oracle_call, function, q, few, dtype), len(few["x"]))
                finally:
                    fast.set_enabled(True)
                print(
                    f"{function:34s} {q:10s} {name:8s} {o:10.0f} {pl:9.0f} {ex:9.0f}"
                    f" {o / pl:8.1f}x {o / ex:8.1f}x",
                    flush=True,
                )


def mean_vs_none(n: int) -> None:
    for function in QUANTITIES:
        args = inputs(function, n, np.float32)
        kw = {"weight": args["w"]}
        if "p" in args:
            kw["pos_weight"] = args["p"]
        times = {}
        for reduction in ("none", "mean"):
            start = time.perf_counter()
            r = getattr(oracle, function)(args["x"], args["y"], reduction=reduction, **kw)
            r.rounded(np.float32)
            times[reduction] = time.perf_counter() - start
        print(
            f"{function:34s} n={n:.0e} none {times['none']:.2f}s mean {times['mean']:.2f}s"
            f" mean/none {times['mean'] / times['none']:.2f}",
            flush=True,
        )


def big_run(n: int) -> None:
    for function in QUANTITIES:
        args = inputs(function, n, np.float32)
        before = dict(fast.STATS)
        start = time.perf_counter()
        r = getattr(oracle, function)(args["x"], args["y"], reduction="none")
        r.rounded(np.float32)
        elapsed = time.perf_counter() - start
        exact = fast.STATS["exact"] - before["exact"]
        print(
            f"{function:34s} {n:.0e} float32 values certified in {elapsed:.1f}s"
            f" ({n / elapsed:.0f}/s; {exact} by the exact path)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--plain", type=int, default=2000)
    parser.add_argument("--exact", type=int, default=300)
    parser.add_argument("--mean-n", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000_000)
    parser.add_argument("--formats", default="float32,float16,bfloat16,float64")
    a = parser.parse_args()
    if min(a.n, a.plain, a.exact) < 1 or a.exact > a.n or a.plain > a.n:
        parser.error("need 1 <= --exact, --plain <= --n")
    formats = a.formats.split(",")
    unknown = [f for f in formats if f not in DTYPES]
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; expected {', '.join(DTYPES)}")
    ratios(a.n, a.plain, a.exact, formats)
    if a.mean_n:
        mean_vs_none(a.mean_n)
    if a.big:
        big_run(a.big)


if __name__ == "__main__":
    main()
