"""The tensorflow adapter maps what TensorFlow and Keras document and declares the rest
unsupported. Expected values are closed forms (x = 0 or log 3) or Keras' documented clip."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from conformance.backends.protocol import Call

pytest.importorskip("tensorflow")
LOGITS = "binary_cross_entropy_with_logits"
BCE = "binary_cross_entropy"


@pytest.fixture(scope="module")
def tb():
    from conformance.backends.plugins import load_backend

    return load_backend("tensorflow")


def _call(dtype="float32", **kw):
    cast = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    x = np.asarray(kw.pop("x", [0.0, 0.0]), dtype=cast)
    y = np.asarray(kw.pop("y", [1.0, 0.25]), dtype=cast)
    for name in ("weight", "pos_weight", "grad_output"):
        if name in kw:
            kw[name] = np.asarray(kw[name], dtype=cast)
    return Call(kw.pop("function", LOGITS), dtype, x, y, **kw)


def test_weights_the_module_form_and_legacy_arguments_are_unsupported(tb):
    assert tb.evaluate(_call(weight=[1.0, 2.0])).status == "unsupported"
    assert tb.evaluate(_call(api="module")).status == "unsupported"
    assert tb.evaluate(_call(legacy=(True, None))).status == "unsupported"


def test_logits_value_and_gradients_follow_the_closed_forms_at_log_3(tb):
    """x = log 3 (sigmoid 3/4, A = softplus(-x) = log(4/3)), p = 2: loss p y A + (1 - y)(x + A),
    d/dx = (1 + y) 3/4 - 2y, d/dy = (p - 1) A - x, d/dp = y A. (At x = 0 TensorFlow's kernel
    takes the derivative of |x| as 0: a finding for the hunt, not a property of the adapter.)"""
    x = math.log(3)
    out = tb.evaluate(
        _call(
            "float64",
            x=[x, x],
            pos_weight=[2.0, 2.0],
            reduction="none",
            grad_wrt=("input", "target", "pos_weight"),
        )
    )
    assert out.status == "ok", out.error
    y, a = np.array([1.0, 0.25]), math.log(4 / 3)
    np.testing.assert_allclose(out.value, 2 * y * a + (1 - y) * (x + a), rtol=1e-14)
    np.testing.assert_allclose(out.gradients["input"], (1 + y) * 0.75 - 2 * y, rtol=1e-14)
    np.testing.assert_allclose(out.gradients["target"], [a - x] * 2, rtol=1e-14)
    np.testing.assert_allclose(out.gradients["pos_weight"], y * a, rtol=1e-14)


def test_mean_is_reduce_mean_and_takes_the_upstream_gradient(tb):
    out = tb.evaluate(_call(reduction="mean", grad_wrt=("input",), grad_output=2.0))
    assert out.status == "ok", out.error
    np.testing.assert_allclose(out.value, math.log(2), rtol=2**-22)
    np.testing.assert_allclose(out.gradients["input"], [-0.5, 0.25], rtol=2**-22)  # 2 (1/2 - y)/2


def test_probabilities_go_to_keras_which_clips_at_1e_minus_7(tb):
    """keras.ops.binary_crossentropy clips x to [1e-7, 1 - 1e-7]: -log(1e-7), not the
    documented -log(1e-9) of PyTorch's semantics. The adapter reports what Keras computes."""
    out = tb.evaluate(_call("float64", function=BCE, x=[1e-9], y=[1.0], reduction="none"))
    assert out.status == "ok", out.error
    assert out.value[0] == pytest.approx(-math.log(1e-7), rel=1e-12)


def test_a_target_of_another_shape_raises(tb):
    out = tb.evaluate(_call(x=[0.0, 0.0], y=[1.0, 0.0, 0.5]))
    assert out.status == "raised"


def test_every_dtype_crosses_as_itself(tb):
    for dtype in ("float64", "float32", "float16", "bfloat16"):
        out = tb.evaluate(_call(dtype, reduction="none", grad_wrt=("input",)))
        assert out.status == "ok", (dtype, out.error)
        expected = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
        assert out.value.dtype == expected and out.gradients["input"].dtype == expected


def test_the_hunt_gives_it_pos_weights_but_never_weights(tb):
    from conformance.hunt.audit import purpose_cases
    from conformance.hunt.profiles import PROFILES
    from conformance.hunt.structures import Accepts

    accepts = Accepts.of(tb)
    cases = list(purpose_cases(PROFILES["ci"], LOGITS, "float32", 0, "value", 1, accepts))
    assert cases and all(c.weight is None for c in cases)
    assert any(c.pos_weight is not None for c in cases)
