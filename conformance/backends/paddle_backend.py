"""PaddlePaddle backend: ``paddle.nn.functional`` and ``paddle.nn`` binary cross-entropy losses.

``import paddle`` is slow (seconds) and chatty, so this module does not import it: the first
``PaddleBackend`` built does, with glog quietened (``GLOG_minloglevel=2``,
``FLAGS_call_stack_level=0`` unless the environment already sets them) and Python warnings and
stdout silenced for the duration.

What paddle 3.3.1 offers, as found by running it (see docs/semantics.md for the full list):

* CPU kernels ``bce_loss`` and ``sigmoid_cross_entropy_with_logits`` are registered for float32
  and float64 only; a float16 or bfloat16 call raises ``RuntimeError: (NotFound) The kernel with
  key (CPU, ..., float16) of kernel `bce_loss` is not registered``. On CPU those dtypes are
  therefore declared *unsupported* up front, with that reason. On GPU all four are attempted.
* Gradients: with respect to ``input`` and ``weight`` only. ``target`` (``label``) and
  ``pos_weight`` never enter the backward graph (``paddle.grad`` says "does not appear in the
  backward graph"), so those are *unsupported*.
* No ``size_average``/``reduce``: legacy calls are *unsupported*.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from typing import Any

import ml_dtypes
import numpy as np

from conformance.backends.protocol import (
    API_FORMS,
    DTYPES,
    Call,
    Outcome,
    check_supported,
    dtype_name,
    unsupported,
)

_LOW_PRECISION = ("float16", "bfloat16")
_CPU_LOW_PRECISION_REASON = (
    "paddle {version} registers its CPU kernels bce_loss and sigmoid_cross_entropy_with_logits "
    "for float32 and float64 only (a {dtype} call raises RuntimeError: (NotFound) The kernel with "
    "key (CPU, Undefined(AnyLayout), {dtype}) ... is not registered)"
)
_NUMPY_DTYPES = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}

_paddle: Any = None


def import_paddle() -> Any:
    """``import paddle`` once, quietly, and return the module."""
    global _paddle
    if _paddle is None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("GLOG_v", "0")
        os.environ.setdefault("FLAGS_call_stack_level", "0")
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            import paddle  # noqa: PLC0415 - deliberately lazy
        _paddle = paddle
    return _paddle


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()}"


class PaddleBackend:
    """``PaddleBackend("cpu")`` or ``PaddleBackend("gpu")`` (the latter needs a CUDA build)."""

    name = "paddle"
    api_forms = frozenset(API_FORMS)
    gradients = frozenset({"input", "weight"})
    legacy_arguments = False

    def __init__(self, device: str = "cpu") -> None:
        if device not in ("cpu", "gpu") and not device.startswith("gpu:"):
            raise ValueError(f"PaddleBackend device must be 'cpu' or 'gpu', not {device!r}")
        paddle = import_paddle()
        self.version = paddle.__version__
        if device.startswith("gpu") and not paddle.is_compiled_with_cuda():
            raise RuntimeError(f"paddle {self.version} is a CPU-only build: no GPU device")
        self.device = device
        self.dtypes = frozenset(
            DTYPES if device.startswith("gpu") else (d for d in DTYPES if d not in _LOW_PRECISION)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._place = (
                paddle.CUDAPlace(int(device.partition(":")[2] or 0))
                if device.startswith("gpu")
                else paddle.CPUPlace()
            )
            paddle.set_device(device)

    def __repr__(self) -> str:
        return f"PaddleBackend(device={self.device!r})"

    def evaluate(self, call: Call) -> Outcome:
        if call.dtype in _LOW_PRECISION and call.dtype not in self.dtypes:
            return unsupported(
                _CPU_LOW_PRECISION_REASON.format(version=self.version, dtype=call.dtype)
            )
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        missing = [w for w in call.grad_wrt if getattr(call, w) is None]
        if missing:
            return Outcome(
                status="crashed",
                error=f"the call asks for the gradient with respect to {', '.join(missing)} "
                "but does not carry that argument",
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self._evaluate(call)
            except Exception as exc:  # paddle rejected the call
                return Outcome(status="raised", error=error_text(exc))

    # -- conversions --------------------------------------------------------------------------

    def _to_paddle(self, array: np.ndarray, dtype: str, requires_grad: bool = False) -> Any:
        paddle = _paddle
        arr = np.array(array, dtype=_NUMPY_DTYPES[dtype], copy=True, order="C")
        if dtype == "bfloat16":
            arr = arr.view(np.uint16)  # paddle reads uint16 NumPy data as bfloat16 bits
        tensor = paddle.to_tensor(arr, place=self._place, stop_gradient=not requires_grad)
        if dtype == "bfloat16" and tensor.dtype != paddle.bfloat16:
            tensor = tensor.view(paddle.bfloat16)
        return tensor

    @staticmethod
    def _to_numpy(tensor: Any) -> np.ndarray:
        paddle = _paddle
        arr = np.array(tensor.numpy(), copy=True)
        if tensor.dtype == paddle.bfloat16:
            arr = arr.view(ml_dtypes.bfloat16)
        return arr

    # -- evaluation ---------------------------------------------------------------------------

    def _evaluate(self, call: Call) -> Outcome:
        paddle = _paddle
        F = paddle.nn.functional
        args = {
            name: None
            if getattr(call, name) is None
            else self._to_paddle(
                getattr(call, name), dtype_name(getattr(call, name)), name in call.grad_wrt
            )
            for name in ("input", "target", "weight", "pos_weight")
        }
        kwargs: dict[str, Any] = {"reduction": call.reduction}
        if args["weight"] is not None:
            kwargs["weight"] = args["weight"]
        if args["pos_weight"] is not None:
            # binary_cross_entropy has no pos_weight: paddle's TypeError is the answer then.
            kwargs["pos_weight"] = args["pos_weight"]
        logits = call.function == "binary_cross_entropy_with_logits"
        if call.api == "module":
            module = (paddle.nn.BCEWithLogitsLoss if logits else paddle.nn.BCELoss)(**kwargs)
            loss = module(args["input"], args["target"])
        else:
            fn = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
            loss = fn(args["input"], args["target"], **kwargs)

        gradients: dict[str, np.ndarray] = {}
        if call.grad_wrt:
            grad_output = (
                paddle.ones_like(loss)
                if call.grad_output is None
                else self._to_paddle(call.grad_output, call.dtype)
            )
            leaves = [args[name] for name in call.grad_wrt]
            grads = paddle.grad([loss], leaves, grad_outputs=[grad_output], allow_unused=True)
            for name, grad in zip(call.grad_wrt, grads):
                gradients[name] = (
                    np.zeros(args[name].shape, dtype=_NUMPY_DTYPES[call.dtype])
                    if grad is None
                    else self._to_numpy(grad)
                )
        return Outcome(status="ok", value=self._to_numpy(loss), gradients=gradients)
