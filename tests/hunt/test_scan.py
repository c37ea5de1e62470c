"""The error scan's grid is dense where implementations break, and every point is judged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conformance.backends.numpy_kernel import NumpyKernelBackend
from conformance.hunt.scan import scan, scan_grid
from oracle.formats import format_of

DTYPES = ("float64", "float32", "float16", "bfloat16")
LOGITS, PROBABILITIES = "binary_cross_entropy_with_logits", "binary_cross_entropy"


def per_decade(values: np.ndarray, lo: float, hi: float) -> float:
    inside = values[(values >= lo) & (values <= hi)]
    return (inside.size - 1) / math.log10(hi / lo)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_are_dense_from_1e_3_to_100_with_tails_to_1e4(dtype):
    x, y = scan_grid(LOGITS, dtype)
    xs = np.unique(x.astype(np.float64))
    for sign in (1, -1):
        assert per_decade(sign * xs, 1.0, 100.0) >= 15  # where the accuracy findings live
        assert per_decade(sign * xs, 1e-3, 1.0) >= 15
        assert per_decade(sign * xs, 100.0, 1e4) >= 3
        assert sign * float(np.array(1e4).astype(x.dtype)) in xs.tolist()
    assert 0.0 in xs.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
def test_probabilities_reach_the_smallest_subnormal_and_the_last_number_below_1(dtype):
    fmt = format_of(dtype)
    x, _ = scan_grid(PROBABILITIES, dtype)
    xs = np.unique(x.astype(np.float64))
    below_one = float(np.nextafter(fmt.numpy_dtype.type(1), fmt.numpy_dtype.type(0)))
    assert {0.0, 1.0, float(fmt.min_subnormal), below_one} <= set(xs.tolist())
    low = max(1e-45, float(fmt.min_subnormal))
    assert per_decade(xs, low, 0.1) >= 2.9
    near = 1 - xs[(xs > 0.5) & (xs < 1)]
    assert per_decade(np.sort(near), 1 - below_one, 0.1) >= 4.5  # bfloat16 rounds some together


@pytest.mark.parametrize("function", (LOGITS, PROBABILITIES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_point_is_representable_and_distinct(function, dtype):
    x, y = scan_grid(function, dtype)
    assert x.dtype == y.dtype == format_of(dtype).numpy_dtype
    assert np.isfinite(x.astype(np.float64)).all() and np.isfinite(y.astype(np.float64)).all()
    pairs = np.stack([x.astype(np.float64), y.astype(np.float64)], axis=1)
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    assert {0.0, 1.0} <= set(y.astype(np.float64).tolist())
    if function == PROBABILITIES:
        assert ((0 <= pairs) & (pairs <= 1)).all()


@pytest.mark.parametrize("function", (LOGITS, PROBABILITIES))
def test_the_scan_judges_the_value_and_every_offered_gradient(function):
    backend = NumpyKernelBackend()
    series = scan(backend, backend.evaluate, function, "float16")
    names = {"value", "grad_input", "grad_target", "grad_weight"}
    if function == LOGITS:
        names.add("grad_pos_weight")
    assert {s.quantity for s in series} == names
    for s in series:
        n = len(scan_grid(function, "float16")[0])
        columns = (s.x, s.y, s.verdict, s.ulp, s.relative_error, s.got_special,
                   s.expected_special)  # fmt: skip
        assert [len(c) for c in columns] == [n] * 7, s.quantity
        assert s.verdict.count("conforms") == n, s.quantity  # our kernel conforms everywhere
