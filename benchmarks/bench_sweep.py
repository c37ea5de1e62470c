"""Sweep speed: the 16-bit sweeps of numpy, torch and paddle, one worker against two, and the
float32 throughput a 2^32-input slice implies.

    python benchmarks/bench_sweep.py [--backends numpy torch paddle] [--float32-probes 16]

1. Every 16-bit cell of the default sweep (both functions, float16 and bfloat16, targets 0, 0.1,
   0.5, 0.9, 1, value and input gradient) for the given backends, with ``--workers 1`` and with
   ``--workers 2``: the seconds of each and their ratio (target: all of it <= 5 minutes on 2
   cores; 2 workers <= 0.6 x one worker).
2. ``--float32-probes`` runs of 4096 float32 logits (target y = 0, value and input gradient,
   numpy and torch, one worker) at starts spread evenly over the 2^32 bit patterns: seconds per
   input at each, and what their mean implies for the 2^32-input slice on 2 and 100 workers
   (the cost is far from uniform: the oracle's exact path takes over where e^x underflows).

Each measurement is one run: times on a shared machine are noisy; the ratio comes from one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sweep_seconds(backends: list[str], workers: int) -> float:
    argv = [sys.executable, "-m", "conformance", "sweep", "--quiet", "--workers", str(workers)]
    for b in backends:
        argv += ["--backend", b]
    start = time.monotonic()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def _float32_seconds_per_input(probes: int, size: int = 4096) -> list[tuple[int, float]]:
    """Seconds per input of the float32 with-logits sweep (y = 0, value and input gradient,
    numpy and torch, one worker) at ``probes`` starts spread evenly over the 2^32 bit patterns
    (NaNs excluded): (start, seconds per input) for each."""
    sys.path.insert(0, ROOT)
    from conformance.backends.plugins import load_backend
    from conformance.hunt.sweep import SweepPlan, run_task

    torch_version = load_backend("torch").version
    plan = SweepPlan("binary_cross_entropy_with_logits", "float32", 0.0, ("value", "grad_input"),
                     (("numpy", np.__version__), ("torch", torch_version)))  # fmt: skip
    run_task(plan.to_json(), ("range", 0x3F800000, 0x3F800000 + 1024), 600.0)  # warm up
    out = []
    for lo in np.linspace(0, 2**32 - size, probes, dtype=np.uint64).tolist():
        start = time.monotonic()
        result = run_task(plan.to_json(), ("range", int(lo), int(lo) + size), 600.0)
        if result["count"]:
            out.append((int(lo), (time.monotonic() - start) / result["count"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch", "paddle"])
    parser.add_argument("--float32-probes", type=int, default=16)
    args = parser.parse_args()
    one = _sweep_seconds(args.backends, 1)
    two = _sweep_seconds(args.backends, 2)
    print(f"16-bit sweeps of {', '.join(args.backends)}: 1 worker {one:.0f} s, "
          f"2 workers {two:.0f} s, ratio {two / one:.2f} (targets: <= 300 s, <= 0.6)")  # fmt: skip
    if args.float32_probes:
        probes = _float32_seconds_per_input(args.float32_probes)
        for lo, sec in probes:
            print(f"  float32 from bits {lo:#010x}: {sec * 1e6:.1f} us per input")
        mean = sum(sec for _, sec in probes) / len(probes)
        total = mean * 2**32
        print(f"float32 logits (numpy and torch, value and input gradient): the 2^32 slice "
              f"would take about {total / 2 / 3600:.1f} h on 2 workers and "
              f"{total / 100 / 3600:.2f} h on 100 (mean of {len(probes)} probes, "
              f"{1 / mean:.3g} inputs/s per worker)")  # fmt: skip


if __name__ == "__main__":
    main()
