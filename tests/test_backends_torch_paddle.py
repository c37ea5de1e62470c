"""The torch and paddle adapters report exactly what the frameworks do (torch 2.13, paddle 3.3.1)."""

from __future__ import annotations

import warnings

import ml_dtypes
import numpy as np
import pytest

from conformance.backends.protocol import Backend, Call

BF16 = np.dtype(ml_dtypes.bfloat16)
X = [0.2, 0.7, 0.9, 0.05]
Y = [0.0, 1.0, 1.0, 0.3]
LOGITS = [-2.0, 0.5, 3.0, -0.1]
W = [2.0, 3.0, 0.5, 1.0]


def arr(values, dtype):
    return np.asarray(values, dtype=BF16 if dtype == "bfloat16" else np.dtype(dtype))


def call(function="binary_cross_entropy", dtype="float32", **kw):
    x = LOGITS if function.endswith("logits") else X
    return Call(function, dtype, arr(x, dtype), arr(Y, dtype), **kw)


# -- torch --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tb(torch):
    from conformance.backends.torch_backend import TorchBackend

    return TorchBackend("cpu")


def test_torch_backend_satisfies_the_protocol(tb, torch):
    assert isinstance(tb, Backend)
    assert (tb.name, tb.device, tb.version) == ("torch", "cpu", str(torch.__version__))
    assert tb.dtypes == frozenset({"float64", "float32", "float16", "bfloat16"})
    assert tb.legacy_arguments is True


def test_torch_value_equals_f_binary_cross_entropy_computed_directly(tb, torch):
    out = tb.evaluate(call(weight=arr(W, "float32"), reduction="sum"))
    direct = torch.nn.functional.binary_cross_entropy(
        torch.tensor(X), torch.tensor(Y), weight=torch.tensor(W), reduction="sum"
    )
    assert out.status == "ok"
    assert out.value.dtype == np.float32
    assert out.value.tobytes() == direct.numpy().tobytes()


def test_torch_logits_value_with_weight_and_pos_weight_equals_direct(tb, torch):
    pw = [1.5, 0.5, 2.0, 1.0]
    c = call(
        "binary_cross_entropy_with_logits",
        "float64",
        weight=arr(W, "float64"),
        pos_weight=arr(pw, "float64"),
        reduction="none",
    )
    out = tb.evaluate(c)
    direct = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(LOGITS, dtype=torch.float64),
        torch.tensor(Y, dtype=torch.float64),
        weight=torch.tensor(W, dtype=torch.float64),
        pos_weight=torch.tensor(pw, dtype=torch.float64),
        reduction="none",
    )
    np.testing.assert_array_equal(out.value, direct.numpy())


def test_torch_module_form_equals_functional_form(tb):
    for fn in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        functional = tb.evaluate(call(fn, weight=arr(W, "float32"), reduction="mean"))
        module = tb.evaluate(call(fn, weight=arr(W, "float32"), reduction="mean", api="module"))
        assert module.status == "ok"
        assert module.value.tobytes() == functional.value.tobytes()


def test_torch_bfloat16_crosses_as_bits_both_ways(tb, torch):
    c = call("binary_cross_entropy_with_logits", "bfloat16", reduction="none")
    out = tb.evaluate(c)
    assert out.value.dtype == BF16
    x = torch.from_numpy(c.input.view(np.int16).copy()).view(torch.bfloat16)
    y = torch.from_numpy(c.target.view(np.int16).copy()).view(torch.bfloat16)
    direct = torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert out.value.view(np.int16).tolist() == direct.view(torch.int16).tolist()


def test_torch_float16_value_matches_direct(tb, torch):
    out = tb.evaluate(call(dtype="float16", reduction="none"))
    direct = torch.nn.functional.binary_cross_entropy(
        torch.tensor(X, dtype=torch.float16), torch.tensor(Y, dtype=torch.float16), reduction="none"
    )
    assert out.value.dtype == np.float16
    assert out.value.tobytes() == direct.numpy().tobytes()


@pytest.mark.parametrize("legacy,factor", [((False, None), 4.0), ((True, True), 1.0)])
def test_torch_legacy_size_average_reduce_override_reduction_silently(tb, legacy, factor, recwarn):
    mean = tb.evaluate(call(reduction="mean")).value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked deprecation warning would fail the test
        out = tb.evaluate(call(reduction="none", legacy=legacy))
        module = tb.evaluate(call(reduction="none", legacy=legacy, api="module"))
    assert out.value == pytest.approx(factor * mean, rel=1e-6)
    assert module.value == out.value
    assert len(recwarn) == 0


def test_torch_input_outside_unit_interval_is_raised(tb):
    c = Call("binary_cross_entropy", "float32", arr([1.5, 0.5], "float32"), arr([1, 0], "float32"))
    out = tb.evaluate(c)
    assert out.status == "raised"
    assert out.error == "RuntimeError: all elements of input should be between 0 and 1"


def test_torch_target_outside_unit_interval_is_raised(tb):
    c = Call(
        "binary_cross_entropy", "float32", arr([0.5, 0.5], "float32"), arr([1.5, 0], "float32")
    )
    assert tb.evaluate(c).error == "RuntimeError: all elements of target should be between 0 and 1"


def test_torch_shape_mismatch_is_raised_value_error(tb):
    c = Call(
        "binary_cross_entropy_with_logits",
        "float32",
        arr([0.0] * 3, "float32"),
        arr([[1.0] * 3] * 2, "float32"),
    )
    out = tb.evaluate(c)
    assert out.status == "raised"
    assert out.error.startswith("ValueError: Target size")


def test_torch_input_gradient_equals_autograd_with_grad_output(tb, torch):
    go = arr([1.0, 2.0, -1.0, 0.5], "float64")
    out = tb.evaluate(call(dtype="float64", reduction="none", grad_wrt=("input",), grad_output=go))
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy(
        x, torch.tensor(Y, dtype=torch.float64), reduction="none"
    )
    loss.backward(torch.from_numpy(go))
    np.testing.assert_array_equal(out.gradients["input"], x.grad.numpy())


def test_torch_target_gradient_of_bce_is_given(tb):
    out = tb.evaluate(call(dtype="float64", reduction="sum", grad_wrt=("target",)))
    assert out.status == "ok"
    x = np.array(X)
    np.testing.assert_allclose(out.gradients["target"], np.log1p(-x) - np.log(x), rtol=1e-12)


@pytest.mark.parametrize("wrt", ["weight", "pos_weight"])
def test_torch_weight_and_pos_weight_gradients_are_unsupported(tb, wrt):
    c = call(
        "binary_cross_entropy_with_logits",
        weight=arr(W, "float32"),
        pos_weight=arr(W, "float32"),
        grad_wrt=(wrt,),
    )
    out = tb.evaluate(c)
    assert out.status == "unsupported"
    assert wrt in out.error


@pytest.mark.parametrize("wrt", ["weight", "pos_weight"])
def test_torch_autograd_itself_refuses_weight_and_pos_weight_gradients(wrt):
    # Why the backend does not offer them: torch 2.13 raises for requires_grad on these.
    import torch
    import torch.nn.functional as F

    w = torch.ones(3, requires_grad=True)
    kwargs = {wrt: w}
    with pytest.raises(RuntimeError, match=f"not differentiable with respect to argument '{wrt}'"):
        F.binary_cross_entropy_with_logits(torch.zeros(3), torch.ones(3), **kwargs).backward()


def test_torch_bce_with_pos_weight_is_raised_type_error(tb):
    out = tb.evaluate(call(pos_weight=arr(W, "float32")))
    assert out.status == "raised"
    assert out.error.startswith("TypeError")


def test_torch_empty_mean_is_nan(tb):
    c = Call("binary_cross_entropy", "float32", np.zeros(0, np.float32), np.zeros(0, np.float32))
    out = tb.evaluate(c)
    assert out.status == "ok" and np.isnan(out.value)


def test_torch_cuda_without_cuda_is_a_setup_error(torch):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    from conformance.backends.plugins import BackendSetupError, load_backend

    with pytest.raises(BackendSetupError, match="torch-cuda"):
        load_backend("torch-cuda")


# -- paddle -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paddle():
    pytest.importorskip("paddle")
    from conformance.backends.paddle_backend import import_paddle

    return import_paddle()


@pytest.fixture(scope="module")
def pb(paddle):
    from conformance.backends.paddle_backend import PaddleBackend

    return PaddleBackend("cpu")


def pt(paddle, values, dtype="float32", grad=False):
    return paddle.to_tensor(np.asarray(values, dtype=dtype), stop_gradient=not grad)


def test_paddle_backend_satisfies_the_protocol(pb, paddle):
    assert isinstance(pb, Backend)
    assert (pb.name, pb.device, pb.version) == ("paddle", "cpu", paddle.__version__)
    assert pb.legacy_arguments is False
    assert pb.gradients == frozenset({"input", "weight"})


def test_paddle_value_equals_functional_computed_directly(pb, paddle):
    out = pb.evaluate(call(weight=arr(W, "float32"), reduction="sum"))
    direct = paddle.nn.functional.binary_cross_entropy(
        pt(paddle, X), pt(paddle, Y), weight=pt(paddle, W), reduction="sum"
    )
    assert out.status == "ok"
    assert out.value.tobytes() == direct.numpy().tobytes()


def test_paddle_module_form_equals_functional_form(pb):
    for fn in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        kw = {"weight": arr(W, "float64"), "reduction": "none"}
        functional = pb.evaluate(call(fn, "float64", **kw))
        module = pb.evaluate(call(fn, "float64", api="module", **kw))
        assert module.status == "ok"
        np.testing.assert_array_equal(module.value, functional.value)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_paddle_low_precision_on_cpu_is_unsupported_with_reason(pb, dtype):
    for fn in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        out = pb.evaluate(call(fn, dtype))
        assert out.status == "unsupported"
        assert "not registered" in out.error and dtype in out.error


def test_paddle_legacy_arguments_are_unsupported(pb):
    assert pb.evaluate(call(legacy=(False, None))).status == "unsupported"


@pytest.mark.parametrize("wrt", ["target", "pos_weight"])
def test_paddle_target_and_pos_weight_gradients_are_unsupported(pb, wrt):
    c = call("binary_cross_entropy_with_logits", pos_weight=arr(W, "float32"), grad_wrt=(wrt,))
    assert pb.evaluate(c).status == "unsupported"


def test_paddle_input_and_weight_gradients_equal_autograd(pb, paddle):
    go = arr([1.0, 2.0, -1.0, 0.5], "float64")
    c = call(
        "binary_cross_entropy_with_logits",
        "float64",
        weight=arr(W, "float64"),
        reduction="none",
        grad_wrt=("input", "weight"),
        grad_output=go,
    )
    out = pb.evaluate(c)
    x, w = pt(paddle, LOGITS, "float64", True), pt(paddle, W, "float64", True)
    loss = paddle.nn.functional.binary_cross_entropy_with_logits(
        x, pt(paddle, Y, "float64"), weight=w, reduction="none"
    )
    gx, gw = paddle.grad([loss], [x, w], grad_outputs=[pt(paddle, go, "float64")])
    np.testing.assert_array_equal(out.gradients["input"], gx.numpy())
    np.testing.assert_array_equal(out.gradients["weight"], gw.numpy())


def test_paddle_input_outside_unit_interval_is_raised(pb):
    c = Call("binary_cross_entropy", "float32", arr([1.5, 0.5], "float32"), arr([1, 0], "float32"))
    out = pb.evaluate(c)
    assert out.status == "raised"
    assert out.error.startswith("ValueError: (InvalidArgument) Illegal input")


def test_paddle_target_outside_unit_interval_is_computed(pb):
    c = Call(
        "binary_cross_entropy",
        "float64",
        arr([0.3, 0.5], "float64"),
        arr([1.5, -0.5], "float64"),
        reduction="none",
    )
    out = pb.evaluate(c)
    assert out.status == "ok"
    np.testing.assert_allclose(out.value, [-(1.5 * np.log(0.3) - 0.5 * np.log(0.7)), np.log(2)])


def test_paddle_weight_that_grows_the_shape_grows_the_output(pb):
    c = Call(
        "binary_cross_entropy",
        "float32",
        arr([0.5] * 3, "float32"),
        arr([1.0] * 3, "float32"),
        weight=arr([[1.0] * 3] * 2, "float32"),
        reduction="none",
    )
    out = pb.evaluate(c)
    assert out.status == "ok" and out.value.shape == (2, 3)


def test_paddle_bce_shape_mismatch_is_raised(pb):
    c = Call("binary_cross_entropy", "float32", arr([0.5] * 3, "float32"), arr([1.0], "float32"))
    out = pb.evaluate(c)
    assert out.status == "raised" and "shall have the same shape" in out.error


def test_paddle_gpu_on_cpu_build_is_a_setup_error(paddle):
    if paddle.is_compiled_with_cuda():
        pytest.skip("paddle has CUDA here")
    from conformance.backends.plugins import BackendSetupError, load_backend

    with pytest.raises(BackendSetupError, match="paddle-gpu"):
        load_backend("paddle-gpu")
