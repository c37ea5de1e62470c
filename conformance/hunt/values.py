"""Element values the hunt draws, by regime, from a seeded NumPy generator.

Every sampler returns float64 values that the caller rounds into the case's dtype.

In-domain values (the *value* purpose) are spread where implementations break:

* probabilities ``x`` of binary_cross_entropy: ``10**-u`` with ``u`` uniform in [0.3, 46] (near
  0, down to the clamp at e^-100 and float32's subnormals: not only powers of two, so
  ``log(1 - x)`` without ``log1p`` is inexact there), ``1 - 10**-u`` with ``u`` in [0.3, 17]
  (near 1), ``1/2 ± 10**-u`` (where ``log x - log(1 - x)`` cancels), uniform in (0, 1), and now
  and then exactly 0 or 1 (the clamp);
* logits ``x``: ``±10**u`` with ``u`` uniform in [-3, 2] (|x| from 1e-3 to 100, where every
  accuracy finding lives), tiny ``±10**-u`` down to 1e-15 (where ``softplus(-x) - softplus(x)``
  cancels), the tails of the dtype (e^-|x| below its epsilon, up to its largest finite value)
  and ±0;
* targets: 0 and 1, soft values uniform in [0, 1] and near 0 and 1 in log space, and now and
  then a target within a relative 10^-3 .. 10^-15 of the probability (``sigma(x)`` for logits),
  where ``x - y`` or ``sigma(x) - y`` cancels;
* weights and pos_weights: distinct positive values ``2**v`` with ``v`` uniform in [-3, 3], now
  and then 1 or 0.
"""

from __future__ import annotations

import math

import numpy as np

from oracle.formats import format_of

E100 = math.exp(-100.0)


def libm_pow(base: float, exponents) -> np.ndarray:
    """``base ** e`` for each e through the C library's pow (Python's ``math.pow``), not NumPy's
    vectorized power: NumPy picks AVX-512 kernels for float64 power and exp on CPUs that have
    them, and those round differently from the C library, so the same seed would draw other
    cases on another machine (measured: a published deep example's 10^6-element inputs). The C
    library is what NumPy itself calls on CPUs without AVX-512, so the cases are those drawn
    before."""
    e = np.asarray(exponents, dtype=np.float64)
    return np.array([math.pow(base, v) for v in e.ravel().tolist()]).reshape(e.shape)


def libm_exp(values) -> np.ndarray:
    """``exp`` of each value through the C library (see ``libm_pow``)."""
    v = np.asarray(values, dtype=np.float64)
    return np.array([_exp(t) for t in v.ravel().tolist()]).reshape(v.shape)


def _exp(t: float) -> float:
    try:
        return math.exp(t)
    except OverflowError:
        return math.inf


def _pick(rng: np.random.Generator, n: int, samplers, weights) -> np.ndarray:
    choice = rng.choice(len(samplers), size=n, p=np.asarray(weights) / np.sum(weights))
    out = np.empty(n)
    for k, sampler in enumerate(samplers):
        idx = np.flatnonzero(choice == k)
        if idx.size:
            out[idx] = sampler(idx.size)
    return out


def probabilities(rng: np.random.Generator, n: int, dtype: str) -> np.ndarray:
    """In-domain probabilities (see the module docstring)."""
    fmt = format_of(dtype)
    deepest = min(46.0, -math.log10(float(fmt.min_subnormal)) + 0.3)
    return _pick(
        rng,
        n,
        [
            lambda k: libm_pow(10.0, -rng.uniform(0.3, deepest, k)),
            lambda k: 1.0 - libm_pow(10.0, -rng.uniform(0.3, 17.0, k)),
            lambda k: rng.uniform(0.0, 1.0, k),
            lambda k: rng.uniform(E100 / 4, E100 * 4, k),
            lambda k: rng.choice([0.0, 1.0], k),
            lambda k: 0.5 + rng.choice([-1.0, 1.0], k) * libm_pow(10.0, -rng.uniform(2.0, 15.0, k)),
        ],
        [4, 3, 2, 0.5, 0.5, 0.7],
    )


def logits(rng: np.random.Generator, n: int, dtype: str) -> np.ndarray:
    """In-domain finite logits (see the module docstring)."""
    fmt = format_of(dtype)
    tail = (fmt.precision - 1) * math.log(2)
    largest = float(fmt.max_finite)
    sign = lambda k: rng.choice([-1.0, 1.0], k)  # noqa: E731
    return _pick(
        rng,
        n,
        [
            lambda k: sign(k) * libm_pow(10.0, rng.uniform(-3.0, 2.0, k)),
            lambda k: sign(k) * rng.uniform(tail, 2 * tail + 2, k),
            lambda k: sign(k) * libm_exp(rng.uniform(math.log(tail), math.log(largest), k)),
            lambda k: rng.choice([0.0, -0.0], k),
            lambda k: sign(k) * libm_pow(10.0, rng.uniform(-15.0, -3.0, k)),
        ],
        [8, 1.5, 0.5, 0.3, 1.0],
    )


def targets(rng: np.random.Generator, n: int) -> np.ndarray:
    """In-contract targets in [0, 1]."""
    return _pick(
        rng,
        n,
        [
            lambda k: rng.choice([0.0, 1.0], k),
            lambda k: rng.uniform(0.0, 1.0, k),
            lambda k: libm_pow(10.0, -rng.uniform(1.0, 8.0, k)),
            lambda k: 1.0 - libm_pow(10.0, -rng.uniform(1.0, 8.0, k)),
        ],
        [4, 3, 1, 1],
    )


def near_the_probability(
    rng: np.random.Generator, function: str, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``y`` with about one element in six moved to within a relative 10^-3 .. 10^-15 of the
    probability the input stands for (x itself, or sigma(x) for logits), clipped to [0, 1]."""
    pick = rng.random(y.shape) < 1 / 6
    if not pick.any():
        return y
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):
        p = x64 if function == "binary_cross_entropy" else 1.0 / (1.0 + libm_exp(-x64))
    near = p * (
        1.0 + rng.choice([-1.0, 1.0], y.shape) * libm_pow(10.0, -rng.uniform(3.0, 15.0, y.shape))
    )
    return np.where(pick, np.clip(near, 0.0, 1.0), y)


def weights(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct positive weights, now and then exactly 1 or 0."""
    return _pick(
        rng,
        n,
        [lambda k: libm_pow(2.0, rng.uniform(-3.0, 3.0, k)), lambda k: rng.choice([1.0, 0.0], k)],
        [9, 1],
    )


def grad_output(rng: np.random.Generator, n: int) -> np.ndarray:
    """Upstream gradients: nonzero, of either sign, spread over a few binades."""
    return rng.choice([-1.0, 1.0], n) * libm_pow(2.0, rng.uniform(-4.0, 4.0, n))


def in_dtype(values: np.ndarray, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """float64 values rounded (to nearest) into ``dtype`` and shaped."""
    with np.errstate(over="ignore"):
        return (
            np.asarray(values, dtype=np.float64).astype(format_of(dtype).numpy_dtype).reshape(shape)
        )
