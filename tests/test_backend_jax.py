"""The jax adapter maps what optax documents and declares the rest unsupported."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from conformance.backends.protocol import Call

pytest.importorskip("optax")
LOGITS = "binary_cross_entropy_with_logits"


@pytest.fixture(scope="module")
def jb():
    from conformance.backends.plugins import load_backend

    return load_backend("jax")


def _call(dtype="float32", **kw):
    cast = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    x = np.asarray(kw.pop("x", [0.0, 0.0]), dtype=cast)
    y = np.asarray(kw.pop("y", [1.0, 0.25]), dtype=cast)
    return Call(kw.pop("function", LOGITS), dtype, x, y, **kw)


def test_probabilities_weights_and_pos_weights_are_unsupported(jb):
    assert jb.evaluate(_call(function="binary_cross_entropy")).status == "unsupported"
    w = np.ones(2, dtype=np.float32)
    assert jb.evaluate(_call(weight=w)).status == "unsupported"
    assert jb.evaluate(_call(pos_weight=w)).status == "unsupported"
    assert jb.evaluate(_call(api="module")).status == "unsupported"


def test_value_and_gradients_follow_the_closed_forms_at_zero(jb):
    """At x = 0: loss log 2 per element, d/dx = 1/2 - y, d/dy = -x = 0 (closed forms)."""
    out = jb.evaluate(_call(reduction="none", grad_wrt=("input", "target")))
    assert out.status == "ok"
    np.testing.assert_allclose(out.value, [math.log(2)] * 2, rtol=2**-22)
    np.testing.assert_allclose(out.gradients["input"], [-0.5, 0.25], rtol=2**-22)
    np.testing.assert_array_equal(out.gradients["target"], [0.0, 0.0])


def test_mean_is_jnp_mean_of_the_elements_and_takes_the_upstream_gradient(jb):
    out = jb.evaluate(
        _call(reduction="mean", grad_wrt=("input",), grad_output=np.asarray(2.0, np.float32))
    )
    np.testing.assert_allclose(out.value, math.log(2), rtol=2**-22)
    np.testing.assert_allclose(out.gradients["input"], [-0.5, 0.25], rtol=2**-22)  # 2 (1/2 - y)/2


def test_float64_runs_in_float64(jb):
    out = jb.evaluate(_call("float64", x=[1e-10], y=[0.0], reduction="none"))
    assert out.value.dtype == np.float64
    assert out.value[0] == pytest.approx(math.log(2) + 0.5e-10, rel=1e-15)


def test_bfloat16_crosses_as_bfloat16(jb):
    out = jb.evaluate(_call("bfloat16", reduction="none"))
    assert out.value.dtype == np.dtype(ml_dtypes.bfloat16)


def test_a_backend_without_weight_arguments_is_hunted_without_them(jb):
    from conformance.hunt.audit import purpose_cases
    from conformance.hunt.profiles import PROFILES
    from conformance.hunt.structures import Accepts

    accepts = Accepts.of(jb)
    for purpose in ("value", "special", "contract", "large", "edge"):
        cases = list(purpose_cases(PROFILES["ci"], LOGITS, "float32", 0, purpose, 1, accepts))
        assert cases, purpose
        assert all(c.weight is None and c.pos_weight is None for c in cases), purpose


def test_every_call_runs_one_jitted_function_per_reduction_whatever_the_shape(jb):
    """A training step runs under ``jax.jit``: new shapes are new traces of one compiled function
    per (reduction, gradients asked), never eager op-by-op dispatch."""
    for n in (3, 5):
        jb.evaluate(_call(x=[0.5] * n, y=[0.0] * n, reduction="sum", grad_wrt=("input",)))
    jitted = jb._jitted("sum", gradients=True)
    assert jitted._cache_size() == 2  # one trace per shape, both in the same jitted function
