"""The inputs a sweep visits: every finite value of a format in a function's domain, or samples.

Inputs are named by their bit patterns. The *domain* of one argument is

* ``binary_cross_entropy_with_logits``: every finite value (both zeros included);
* ``binary_cross_entropy``: every value in [0, 1], -0.0 included (it equals 0).

A *task* is one chunk of work, a small JSON-able tuple, so that any executor (local processes,
Dask workers) can run it and a checkpoint can name it:

* ``("range", lo, hi)``: the bit patterns lo <= b < hi, exhaustively (only those in the domain
  are evaluated);
* ``("sample", sign, exponent, start, count, per, seed)``: values ``start .. start + count`` of
  the ``per`` samples of one binade (sign, biased exponent field), whose significand bits are
  drawn uniformly by a NumPy generator seeded by (seed, sign, exponent), in ascending order: the
  stratified samples of a float64 (or float32) sweep, a lower bound on the error. Samples may
  repeat: ``count`` counts draws.

``exhaustive_tasks`` and ``sampled_tasks`` list the chunks of a sweep in order; ``inputs(task,
function, dtype)`` gives a chunk's inputs, in ascending bit patterns (so that the first of the
worst results is the one with the smallest bit pattern).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from oracle.formats import format_of

BCE = "binary_cross_entropy"
Task = tuple


def _bits_of(value: float, dtype: str) -> int:
    fmt = format_of(dtype)
    return int(np.array(value, dtype=fmt.numpy_dtype).view(fmt.uint_dtype))


def domain_ranges(function: str, dtype: str) -> list[tuple[int, int]]:
    """Half-open ranges of bit patterns covering the domain of ``function``'s input, in order."""
    fmt = format_of(dtype)
    sign = fmt.sign_bit
    if function == BCE:  # +0 .. 1, and -0
        return [(0, _bits_of(1.0, dtype) + 1), (sign, sign + 1)]
    return [(0, fmt.inf_bits), (sign, sign | fmt.inf_bits)]  # every finite value


def domain_size(function: str, dtype: str) -> int:
    """How many inputs an exhaustive sweep of ``function`` in ``dtype`` evaluates."""
    return sum(hi - lo for lo, hi in domain_ranges(function, dtype))


def exhaustive_tasks(function: str, dtype: str, chunk: int) -> list[Task]:
    """The domain in chunks of at most ``chunk`` consecutive bit patterns."""
    out: list[Task] = []
    for lo, hi in domain_ranges(function, dtype):
        for start in range(lo, hi, chunk):
            out.append(("range", start, min(start + chunk, hi)))
    return out


def sampled_tasks(function: str, dtype: str, samples: int, seed: int, chunk: int) -> list[Task]:
    """About ``samples`` inputs spread evenly over the binades of the domain (each sign and
    exponent field; the subnormals form one binade), in chunks of at most ``chunk``. A binade's
    samples are one seeded stream, whatever the chunking (a task takes a slice of it), so the
    same seed and count give the same inputs for any ``--chunk``. For
    ``binary_cross_entropy`` the inputs 1 and -0, which no binade of [0, 1) holds, are added."""
    binades = list(_binades(function, dtype))
    per = max(1, -(-samples // len(binades)))
    out: list[Task] = []
    for sign, exponent in binades:
        for start in range(0, per, chunk):
            out.append(("sample", sign, exponent, start, min(chunk, per - start), per, seed))
    if function == BCE:
        fmt = format_of(dtype)
        one = _bits_of(1.0, dtype)
        out += [("range", one, one + 1), ("range", fmt.sign_bit, fmt.sign_bit + 1)]
    return out


def _binades(function: str, dtype: str) -> Iterator[tuple[int, int]]:
    fmt = format_of(dtype)
    top = (1 << fmt.exponent_bits) - 1  # the exponent field of inf and NaN
    one = _bits_of(1.0, dtype) >> (fmt.precision - 1)
    for sign in (0, 1):
        if function == BCE:
            if sign:
                continue  # -0.0 is the only negative input (added as its own task)
            for exponent in range(0, one):
                yield sign, exponent
        else:
            for exponent in range(0, top):
                yield sign, exponent


def inputs(task: Task, function: str, dtype: str) -> np.ndarray:
    """The inputs of one task, in ``dtype``."""
    fmt = format_of(dtype)
    kind = task[0]
    if kind == "range":
        _, lo, hi = task
        bits = np.arange(lo, hi, dtype=np.uint64).astype(fmt.uint_dtype)
        values = bits.view(fmt.numpy_dtype)
        wide = values.astype(np.float64)
        keep = np.isfinite(wide)
        if function == BCE:
            keep &= (wide >= 0.0) & (wide <= 1.0)
        return values[keep]
    if kind == "sample":
        _, sign, exponent, start, count, per, seed = task
        rng = np.random.default_rng([int(seed), int(sign), int(exponent)])
        stream = rng.integers(0, 1 << (fmt.precision - 1), size=int(per), dtype=np.uint64)
        mantissa = np.sort(stream[int(start) : int(start) + int(count)])  # ascending patterns
        bits = (
            (np.uint64(sign) << np.uint64(fmt.width - 1))
            | (np.uint64(exponent) << np.uint64(fmt.precision - 1))
            | mantissa
        )
        return bits.astype(fmt.uint_dtype).view(fmt.numpy_dtype)
    raise ValueError(f"unknown sweep task {task!r}")
