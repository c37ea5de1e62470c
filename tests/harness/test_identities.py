"""Identities the documentation implies, checked on each backend.

* Mirror: with pos_weight 1, ``L(x, 1) = softplus(-x) = L(-x, 0)`` exactly, element by element.
* Composition: ``BCE(sigma(x), y)`` and ``BCE_with_logits(x, y)`` agree up to the rounding of
  ``sigma(x)`` into the dtype; the backend's gap may exceed the oracle's gap for the same rounded
  probability by at most twice the tolerance.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oracle
from conformance.backends.protocol import Call
from conformance.judge.tolerances import tolerance
from oracle.formats import format_of, from_bits, ulp_distance
from oracle.linear_forms import Form, round_form_bits

DTYPES = ("float64", "float32")


def _rounded_sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) correctly rounded into x's dtype, from the oracle's exact sigmoid."""
    fmt = format_of(x.dtype)
    bits = [round_form_bits(Form.sigmoid(Fraction(float(v))), fmt) for v in x]
    return from_bits(np.array(bits, dtype=fmt.uint_dtype), fmt)


def _assert_identity(backend, baseline, name: str, dtype: str, holds: bool, detail: str) -> None:
    """Fail on a violated identity unless the baseline lists it for this backend, explained."""
    known = baseline.backends.get(backend.name)
    class_id = f"identity/{name}/{dtype}"
    if not holds:
        assert known is not None and class_id in known.classes, (
            f"{backend.name}: {class_id} violated: {detail}"
        )


def _value(backend, function, dtype, x, y):
    outcome = backend.evaluate(
        Call(function=function, dtype=dtype, input=x, target=y, reduction="none")
    )
    if outcome.status != "ok":
        pytest.skip(f"{backend.name}: {outcome.status} {outcome.error}")
    return np.asarray(outcome.value)


@pytest.mark.parametrize("dtype", DTYPES)
@given(xs=st.lists(st.floats(-30, 30), min_size=1, max_size=16))
def test_positive_target_mirrors_negative_logit_with_zero_target(backend, baseline, dtype, xs):
    x = np.array(xs, dtype=dtype)
    logits = "binary_cross_entropy_with_logits"
    left = _value(backend, logits, dtype, x, np.ones_like(x))
    right = _value(backend, logits, dtype, -x, np.zeros_like(x))
    tol = tolerance(logits, dtype, backend.name, "value").max_ulp
    gap = ulp_distance(left, right).max()
    detail = f"L(x, 1) and L(-x, 0) differ by {gap:g} ULP at x = {xs}"
    _assert_identity(backend, baseline, "mirror", dtype, bool(gap <= 2 * tol), detail)


@pytest.mark.parametrize("dtype", DTYPES)
@given(
    xs=st.lists(st.floats(-6, 6), min_size=1, max_size=16),
    ys=st.lists(st.floats(0, 1), min_size=16, max_size=16),
)
def test_bce_of_sigmoid_agrees_with_bce_with_logits(backend, baseline, dtype, xs, ys):
    x = np.array(xs, dtype=dtype)
    y = np.array(ys[: len(xs)], dtype=dtype)
    s = _rounded_sigmoid(x)
    via_bce = _value(backend, "binary_cross_entropy", dtype, s, y)
    via_logits = _value(backend, "binary_cross_entropy_with_logits", dtype, x, y)
    exact_bce = oracle.binary_cross_entropy(s, y, reduction="none").rounded(dtype)
    exact_logits = oracle.binary_cross_entropy_with_logits(x, y, reduction="none").rounded(dtype)
    tol = tolerance("binary_cross_entropy", dtype, backend.name, "value").max_ulp
    gap_backend = ulp_distance(via_bce, via_logits)
    gap_oracle = ulp_distance(exact_bce, exact_logits)
    holds = bool((gap_backend <= gap_oracle + 2 * tol).all())
    detail = (
        f"gaps {gap_backend.tolist()} ULP against the oracle's {gap_oracle.tolist()} at x = {xs}"
    )
    _assert_identity(backend, baseline, "sigmoid-composition", dtype, holds, detail)
