"""Deterministic random and adversarial points for the fast path's tests (float64 arrays).

Every coordinate is a value of the format under test (float32, float16 or bfloat16), so that the
points are the inputs the oracle meets; the families aim at the places where a bound is tight:
reduction boundaries of exp (t near (k + 1/2) ln 2), the branch points of log1p and log, powers
of two, tiny and subnormal arguments, x near 0 and 1, results near the formats' rounding
boundaries (weights that put a product on a midpoint), and magnitudes up to the format's max.
"""

from __future__ import annotations

import math

import numpy as np

from oracle.formats import FORMATS

LN2 = math.log(2)


def cast(values: np.ndarray, dtype: str) -> np.ndarray:
    """Values rounded into ``dtype`` (clipped to its finite range), widened back to float64."""
    fmt = FORMATS[dtype]
    big = float(fmt.max_finite)
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), -big, big)
    return v.astype(fmt.numpy_dtype).astype(np.float64)


def _choose(rng, n: int, families: list[np.ndarray]) -> np.ndarray:
    which = rng.integers(0, len(families), size=n)
    return np.choose(which, families)


def bit_uniform(rng, n: int, dtype: str, signed: bool = True) -> np.ndarray:
    """Uniform over the finite bit patterns of ``dtype``."""
    fmt = FORMATS[dtype]
    bits = rng.integers(0, fmt.inf_bits, size=n, dtype=np.uint64).astype(fmt.uint_dtype)
    v = bits.view(fmt.numpy_dtype).astype(np.float64)
    return np.where(rng.random(n) < 0.5, -v, v) if signed else v


def logits(rng, n: int, dtype: str) -> np.ndarray:
    """Logits: moderate, exp-reduction boundaries, near +-700, tiny, powers of two, any."""
    k = rng.integers(0, 1011, size=n)
    boundary = (k + 0.5) * LN2 * (1 + rng.integers(-4, 5, size=n) * 2.0**-52)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    fams = [
        rng.standard_normal(n) * 4,
        rng.standard_normal(n) * 60,
        sign * boundary,
        sign * (700 - rng.random(n) * 20),
        sign * 2.0 ** -rng.integers(1, 160, size=n),
        sign * 2.0 ** rng.integers(-20, 10, size=n),
        bit_uniform(rng, n, dtype),
        sign * rng.random(n) * 2.0**-10,
    ]
    return cast(_choose(rng, n, fams), dtype)


def probabilities(rng, n: int, dtype: str) -> np.ndarray:
    """x in [0, 1]: uniform, uniform bits, log-uniform down to the subnormals, near 1, edges."""
    fmt = FORMATS[dtype]
    one_bits = int(np.array(1.0, fmt.numpy_dtype).view(fmt.uint_dtype))
    bits = rng.integers(0, one_bits + 1, size=n, dtype=np.uint64).astype(fmt.uint_dtype)
    lowest = -fmt.quantum_min
    fams = [
        rng.random(n),
        bits.view(fmt.numpy_dtype).astype(np.float64),
        2.0 ** (-rng.random(n) * lowest),
        1.0 - rng.random(n) * 2.0 ** -rng.integers(1, fmt.precision + 1, size=n),
        rng.choice([0.0, 1.0, 0.5, 0.25, 0.75, 0.2929, 0.29296875, 0.5 - 2.0**-12], size=n),
        2.0 ** -rng.integers(1, lowest + 1, size=n),
        2.0 ** -rng.integers(138, 147, size=n) * (1 + rng.random(n)),  # around e^-100
    ]
    return cast(_choose(rng, n, fams), dtype)


def targets(rng, n: int, dtype: str, unit: bool) -> np.ndarray:
    fams = [
        rng.random(n),
        rng.choice([0.0, 1.0, 0.5, 0.25, 0.75], size=n),
        1.0 - 2.0 ** -rng.integers(1, 12, size=n),
    ]
    if not unit:
        fams += [rng.standard_normal(n) * 3, bit_uniform(rng, n, dtype)]
    return cast(_choose(rng, n, fams), dtype)


def weights(rng, n: int, dtype: str) -> np.ndarray:
    """Weights: ones, ties (1.5, 0.75, 3: p-bit products land on midpoints), any, huge, tiny."""
    fmt = FORMATS[dtype]
    ulp1 = 2.0 ** (1 - fmt.precision)
    fams = [
        np.ones(n),
        rng.choice([1.5, -1.5, 3.0, 0.75, 1 + ulp1, -(1 + 3 * ulp1), 0.0, 2.0**10], size=n),
        rng.standard_normal(n) * 2,
        bit_uniform(rng, n, dtype),
        np.where(rng.random(n) < 0.5, -1.0, 1.0) * float(fmt.max_finite) * rng.random(n),
    ]
    return cast(_choose(rng, n, fams), dtype)


def pos_weights(rng, n: int, dtype: str) -> np.ndarray:
    fams = [
        np.ones(n),
        np.abs(rng.standard_normal(n)) * 3,
        rng.choice([0.0, 0.5, 2.0, 1.5, 1 + 2.0**-7], size=n),
        bit_uniform(rng, n, dtype),
    ]
    return cast(_choose(rng, n, fams), dtype)


def arguments(function: str, rng, n: int, dtype: str) -> dict[str, np.ndarray]:
    """x, y, w (and p for logits) for ``n`` elements of ``function`` in ``dtype``."""
    if function == "binary_cross_entropy":
        return {
            "x": probabilities(rng, n, dtype),
            "y": targets(rng, n, dtype, unit=True),
            "w": weights(rng, n, dtype),
        }
    return {
        "x": logits(rng, n, dtype),
        "y": targets(rng, n, dtype, unit=False),
        "w": weights(rng, n, dtype),
        "p": pos_weights(rng, n, dtype),
    }


def exp_arguments(rng, n: int) -> np.ndarray:
    """t in [0, 700]: reduction boundaries (k + 1/2) ln 2 +- ulps, near 0, uniform, near 700."""
    k = rng.integers(0, 1010, size=n)
    fams = [
        (k + 0.5) * LN2 * (1 + rng.integers(-8, 9, size=n) * 2.0**-52),
        k * LN2 * (1 + rng.integers(-8, 9, size=n) * 2.0**-52),
        rng.random(n) * 700,
        2.0 ** -rng.integers(1, 1075, size=n),
        700 - rng.random(n) * 2.0 ** -rng.integers(0, 40, size=n),
        rng.random(n),
    ]
    return np.clip(_choose(rng, n, fams), 0.0, 700.0)


def unit_arguments(rng, n: int) -> np.ndarray:
    """x in (0, 1): uniform, log-uniform to 2^-1000, near 1, branch points 0.2929, 0.5, sqrt 1/2."""
    near = np.array([0.2929, 0.5, 0.7071067811865476, 0.25, 0.4142135623730951])
    fams = [
        rng.random(n),
        2.0 ** (-rng.random(n) * 1000),
        1.0 - 2.0 ** -rng.integers(1, 54, size=n) * (1 + rng.random(n)) / 2,
        near[rng.integers(0, near.size, size=n)] * (1 + rng.integers(-8, 9, size=n) * 2.0**-52),
    ]
    return np.clip(_choose(rng, n, fams), 2.0**-1000, np.nextafter(1.0, 0.0))
