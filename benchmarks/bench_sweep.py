"""Sweep speed: the 16-bit sweeps of numpy, torch and paddle, one worker against two, and the
float32 throughput a 2^32-input slice implies.

    python benchmarks/bench_sweep.py [--backends numpy torch paddle] [--float32-chunks 4]

1. Every 16-bit cell of the default sweep (both functions, float16 and bfloat16, targets 0, 0.1,
   0.5, 0.9, 1, value and input gradient) for the given backends, with ``--workers 1`` and with
   ``--workers 2``: the seconds of each and their ratio (target: all of it <= 5 minutes on 2
   cores; 2 workers <= 0.6 x one worker).
2. ``--float32-chunks`` chunks of 2^22 float32 logits (target y = 0, value and input gradient,
   numpy and torch, one worker, spread over the range): inputs per second per worker, and what
   that implies for the 2^32-input slice on 2 workers and on 100 workers.

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


def _float32_rate(chunks: int) -> float:
    sys.path.insert(0, ROOT)
    from conformance.backends.plugins import load_backend
    from conformance.hunt.sweep import SweepPlan, run_task

    torch_version = load_backend("torch").version
    plan = SweepPlan("binary_cross_entropy_with_logits", "float32", 0.0, ("value", "grad_input"),
                     (("numpy", np.__version__), ("torch", torch_version)))  # fmt: skip
    starts = np.linspace(0, 0xFF000000, chunks, dtype=np.uint64)
    run_task(plan.to_json(), ("range", 0x3F800000, 0x3F800000 + 1024), 600.0)  # warm up
    inputs, start = 0, time.monotonic()
    for lo in starts.tolist():
        result = run_task(plan.to_json(), ("range", int(lo), int(lo) + (1 << 22)), 600.0)
        inputs += result["count"]
    return inputs / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch", "paddle"])
    parser.add_argument("--float32-chunks", type=int, default=4)
    args = parser.parse_args()
    one = _sweep_seconds(args.backends, 1)
    two = _sweep_seconds(args.backends, 2)
    print(f"16-bit sweeps of {', '.join(args.backends)}: 1 worker {one:.0f} s, "
          f"2 workers {two:.0f} s, ratio {two / one:.2f} (targets: <= 300 s, <= 0.6)")  # fmt: skip
    if args.float32_chunks:
        rate = _float32_rate(args.float32_chunks)
        n = 2**32 - 2 * 2**23
        print(f"float32 logits (numpy and torch, value and input gradient): {rate:.3g} inputs/s "
              f"per worker; the 2^32 slice: {n / rate / 2 / 60:.0f} min on 2 workers, "
              f"{n / rate / 100 / 60:.1f} min on 100 workers")  # fmt: skip


if __name__ == "__main__":
    main()
