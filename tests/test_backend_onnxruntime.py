"""The onnxruntime adapter runs PyTorch's exported loss graphs in ONNX Runtime, one graph per
signature, and declares what it cannot export or run unsupported. Expected values are closed
forms at x = 0 (softplus(0) = log 2)."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from conformance.backends.protocol import Call

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
LOGITS = "binary_cross_entropy_with_logits"


@pytest.fixture(scope="module")
def ob():
    from conformance.backends.plugins import load_backend

    return load_backend("onnxruntime")


def _logits(dtype="float64", n=2, **kw):
    x = np.zeros(n, dtype=dtype)
    y = np.resize(np.array([1.0, 0.25], dtype=dtype), n)
    return Call(LOGITS, dtype, x, y, **kw)


def test_the_value_follows_the_closed_form_at_zero(ob):
    """x = 0, weight w, pos_weight p: w (1 + (p - 1) y) log 2 per element."""
    w, p = np.array([2.0, 3.0]), np.array([4.0, 4.0])
    out = ob.evaluate(_logits(weight=w, pos_weight=p, reduction="none"))
    assert out.status == "ok", out.error
    y = np.array([1.0, 0.25])
    np.testing.assert_allclose(out.value, w * (1 + 3 * y) * math.log(2), rtol=1e-15)


def test_mean_and_sum_reduce_the_elements(ob):
    mean = ob.evaluate(_logits("float32", reduction="mean"))
    total = ob.evaluate(_logits("float32", reduction="sum"))
    assert mean.value.shape == () and total.value.shape == ()
    np.testing.assert_allclose(mean.value, math.log(2), rtol=2**-22)
    np.testing.assert_allclose(total.value, 2 * math.log(2), rtol=2**-22)


def test_one_graph_serves_every_size_of_a_signature(ob):
    before = len(ob._sessions)
    for n in (1, 5, 17):
        out = ob.evaluate(_logits(n=n, reduction="sum", pos_weight=np.full(n, 2.0)))
        assert out.status == "ok", out.error
        assert out.value == pytest.approx(n * math.log(2) * (1 + np.resize([1, 0.25], n).mean()))
    assert len(ob._sessions) == before + 1


def test_gradients_bfloat16_and_the_module_form_are_unsupported(ob):
    assert ob.evaluate(_logits(grad_wrt=("input",))).status == "unsupported"
    assert ob.evaluate(_logits(api="module")).status == "unsupported"
    x = np.zeros(2, dtype=ml_dtypes.bfloat16)
    assert ob.evaluate(Call(LOGITS, "bfloat16", x, x)).status == "unsupported"


def test_a_loss_the_exporter_cannot_write_is_unsupported_quietly(ob, capfd):
    """The TorchScript exporter has no ONNX for aten::binary_cross_entropy: every call of the
    probability loss is unsupported, with the exporter's reason, and nothing is printed."""
    x = np.array([0.5, 0.25])
    out = ob.evaluate(Call("binary_cross_entropy", "float64", x, x, reduction="none"))
    assert out.status == "unsupported" and "binary_cross_entropy" in out.error
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_arrays_onnx_runtime_cannot_broadcast_raise(ob):
    out = ob.evaluate(Call(LOGITS, "float64", np.zeros(3), np.zeros(2), reduction="none"))
    assert out.status == "raised" and "ONNXRuntimeError" in out.error
