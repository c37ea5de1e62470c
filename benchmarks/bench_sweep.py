"""Sweep speed: the 16-bit sweeps of numpy, torch and paddle, one worker against two, and the
float32 throughput a 2^32-input slice implies.

    python benchmarks/bench_sweep.py [--backends numpy torch paddle] [--float32-probes 16]

1. Every 16-bit cell of the default sweep (both functions, float16 and bfloat16, targets 0, 0.1,
   0.5, 0.9, 1, value and input gradient) for the given backends, with ``--workers 1`` and with
   ``--workers 2``: the seconds of each and their ratio (target: all of it <= 5 minutes on 2
   cores; 2 workers <= 0.6 x one worker).
2. Scaling on a larger task (``--scaling-samples``, default 201,326,592 stratified float32
   logits, numpy and torch, value and input gradient, chunks of 2^22): one worker, one worker
   confined to one CPU (``sched_setaffinity``, inherited by its backend processes), and two
   workers; wall seconds, the machine's busy cores meanwhile (/proc/stat), and the start-up
   (a 12-sample sweep) that each ratio also pays. One unconfined worker already keeps more than one core
   busy (its backends compute in their own processes while the oracle does), so its ratio
   measures how much of the second core is left; the confined one measures the scale-out
   itself: two workers on two CPUs against one on one.
3. ``--float32-probes`` runs of 4096 float32 logits (target y = 0, value and input gradient,
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


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine so far (Linux /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _sampled_seconds(samples: int, workers: int, cpus: set[int] | None) -> tuple[float, float]:
    """(wall seconds, cores of the machine busy meanwhile) of a sampled float32 sweep."""
    argv = [sys.executable, "-m", "conformance", "sweep", "--quiet", "--workers", str(workers),
            "--backend", "numpy", "--backend", "torch", "--function",
            "binary_cross_entropy_with_logits", "--dtype", "float32", "--target", "0",
            "--samples", str(samples), "--chunk", str(2**22)]  # fmt: skip

    def confine() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    busy0, total0 = _busy_jiffies()
    start = time.monotonic()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, preexec_fn=confine)
    wall = time.monotonic() - start
    busy1, total1 = _busy_jiffies()
    cores = os.cpu_count() or 1
    return wall, cores * (busy1 - busy0) / max(total1 - total0, 1)


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
    parser.add_argument("--scaling-samples", type=int, default=201_326_592)
    args = parser.parse_args()
    one = _sweep_seconds(args.backends, 1)
    two = _sweep_seconds(args.backends, 2)
    print(f"16-bit sweeps of {', '.join(args.backends)}: 1 worker {one:.0f} s, "
          f"2 workers {two:.0f} s, ratio {two / one:.2f} (targets: <= 300 s, <= 0.6)")  # fmt: skip
    if args.scaling_samples:
        n = args.scaling_samples
        cpu0 = {min(os.sched_getaffinity(0))}
        start1, _ = _sampled_seconds(12, 1, None)
        start2, _ = _sampled_seconds(12, 2, None)
        free, free_busy = _sampled_seconds(n, 1, None)
        confined, _ = _sampled_seconds(n, 1, cpu0)
        pair, pair_busy = _sampled_seconds(n, 2, None)
        print(f"{n} sampled float32 logits (numpy, torch): 1 worker {free:.1f} s "
              f"({free_busy:.2f} cores busy), 1 worker on 1 CPU {confined:.1f} s, 2 workers "
              f"{pair:.1f} s ({pair_busy:.2f} cores busy); ratio {pair / free:.2f} "
              f"(target <= 0.6), {(pair - start2) / (free - start1):.2f} without the start-up "
              f"(a 12-sample sweep: {start1:.1f} s, {start2:.1f} s), {pair / confined:.2f} "
              f"against the worker on 1 CPU")  # fmt: skip
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
