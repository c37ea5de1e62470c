"""The NumPy kernel against torch CPU on 10^7 float32 elements: time ratios from one run.

    python benchmarks/bench_kernel.py [--n 10000000] [--repeat 5]

Each row is the best of ``--repeat`` runs of one call (loss with mean reduction, loss without
reduction, and the input gradient) for both implementations on the same arrays, and the ratio
numpy/torch: below 1 means our kernel is faster. Absolute times on shared machines are noisy;
the ratio, measured in one run, is the number to read. Peak memory of the kernel's call is
measured with tracemalloc in a separate run (so it does not slow the timed ones).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from conformance.backends import numpy_kernel as nk

    rng = np.random.default_rng(0)
    logits = (rng.standard_normal(args.n) * 4).astype(np.float32)
    probs = rng.random(args.n, dtype=np.float32)
    target = rng.random(args.n, dtype=np.float32)
    t_logits, t_probs, t_target = map(torch.from_numpy, (logits, probs, target))

    def torch_grad():
        x = t_logits.clone().requires_grad_(True)
        F.binary_cross_entropy_with_logits(x, t_target, reduction="sum").backward()
        return x.grad

    rows = [
        (
            "with_logits, mean",
            lambda: nk.binary_cross_entropy_with_logits(logits, target),
            lambda: F.binary_cross_entropy_with_logits(t_logits, t_target),
        ),
        (
            "with_logits, none",
            lambda: nk.binary_cross_entropy_with_logits(logits, target, reduction="none"),
            lambda: F.binary_cross_entropy_with_logits(t_logits, t_target, reduction="none"),
        ),
        (
            "binary_cross_entropy, mean",
            lambda: nk.binary_cross_entropy(probs, target),
            lambda: F.binary_cross_entropy(t_probs, t_target),
        ),
        (
            "with_logits, d/dinput (sum)",
            lambda: nk.binary_cross_entropy_with_logits_gradients(
                logits, target, wrt=("input",), reduction="sum"
            ),
            torch_grad,
        ),
    ]
    print(
        f"n = {args.n} float32 elements, torch {torch.__version__} with {torch.get_num_threads()} "
        f"threads, numpy {np.__version__}, best of {args.repeat}"
    )
    print(f"{'call':34} {'numpy [s]':>10} {'torch [s]':>10} {'numpy/torch':>12}")
    for name, ours, theirs in rows:
        ours()
        theirs()  # warm up
        a, b = best_time(ours, args.repeat), best_time(theirs, args.repeat)
        print(f"{name:34} {a:10.4f} {b:10.4f} {a / b:12.2f}")
    tracemalloc.start()
    nk.binary_cross_entropy_with_logits(logits, target)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"peak extra memory of the kernel's with_logits mean call: {peak / logits.nbytes:.1f}x the input array"
    )


if __name__ == "__main__":
    main()
