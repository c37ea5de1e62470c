"""PyTorch backend: ``torch.nn.functional`` and ``torch.nn`` binary cross-entropy losses.

Arrays cross the boundary bit-exactly: float64/float32/float16 through ``torch.from_numpy`` on a
private copy, bfloat16 through its 16-bit pattern (``int16`` view on both sides), never through a
float cast. Whatever torch does with a call is what the Outcome reports: an exception is
``raised`` with ``"Type: message"`` (torch 2.13 raises, e.g., for a BCE input outside [0, 1], for a
gradient with respect to ``weight`` or ``pos_weight``, for ``input``/``target`` of different
shapes). Nothing is declared unsupported up front except what the protocol itself cannot express.

On CUDA, BCE with an input or target outside [0, 1] (NaN included) is a *device-side assert*
(seen with torch 2.11.0+cu130 on an H100): torch raises
``AcceleratorError: CUDA error: device-side assert triggered`` and the process's CUDA context is
lost for good. That call is ``raised``; the backend then sets ``needs_restart`` and answers every
later call ``crashed``. Run CUDA cases through ``evaluate_isolated``, which honours
``needs_restart`` by starting a fresh worker.

Behaviour of torch 2.13.0 (CPU) that the suite relies on is recorded in docs/semantics.md.
"""

from __future__ import annotations

import warnings
from typing import Any

import ml_dtypes
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from conformance.backends.protocol import (
    API_FORMS,
    DTYPES,
    GRADIENT_ARGUMENTS,
    LAYOUTS,
    Call,
    Outcome,
    check_supported,
    dtype_name,
    laid_out,
)

_TORCH_DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
_NUMPY_DTYPES = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}


def to_torch(array: np.ndarray, dtype: str, device: str = "cpu") -> torch.Tensor:
    """``array`` as a torch tensor of ``dtype`` on ``device``, bit for bit.

    An array not already of ``dtype`` is first converted with NumPy/ml_dtypes (round to nearest).
    """
    np_dtype = _NUMPY_DTYPES[dtype]
    arr = np.array(array, dtype=np_dtype, copy=True, order="C")  # private, writable, contiguous
    if dtype == "bfloat16":
        tensor = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    else:
        tensor = torch.from_numpy(arr)
    return tensor.to(device)


def laid_out_tensor(array: np.ndarray, t: torch.Tensor, layout: str, name: str) -> torch.Tensor:
    """``t`` (the values of ``array``) as a leaf in ``layout`` (protocol.LAYOUTS): a stride-2
    view, or a stride-0 expansion of the first row of input or target when the rows are equal."""
    view = laid_out(array, layout, name)
    if view is not None and view.ndim and layout == "strided":
        t = torch.repeat_interleave(t, 2, dim=-1)[..., ::2]
    elif view is not None and view.ndim and view.size and view.strides[0] == 0:
        t = t[:1].expand(t.shape)
    return t.detach()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array of the tensor's own dtype (bfloat16 via its bits)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.contiguous().view(torch.int16).numpy().copy().view(ml_dtypes.bfloat16)
    return tensor.contiguous().numpy().copy()


def _is_sticky_cuda_error(exc: BaseException) -> bool:
    """An error after which the CUDA context is lost (device-side assert, illegal access...)."""
    accelerator_error = getattr(torch, "AcceleratorError", None)
    if accelerator_error is not None and isinstance(exc, accelerator_error):
        return True
    return "CUDA error" in str(exc)


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()}"


class TorchBackend:
    """``TorchBackend("cpu")`` or ``TorchBackend("cuda")`` (the latter refuses to build without CUDA)."""

    name = "torch"
    api_forms = frozenset(API_FORMS)
    layouts = frozenset(LAYOUTS)
    # torch's autograd refuses weight and pos_weight ("is not differentiable with respect to
    # argument 'weight'"): those gradients are not offered, so they are "unsupported".
    gradients = frozenset({"input", "target"})
    legacy_arguments = True

    def __init__(self, device: str = "cpu") -> None:
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise ValueError(f"TorchBackend device must be 'cpu' or 'cuda', not {device!r}")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"torch {torch.__version__} sees no CUDA device")
        self.device = device
        self.version = str(torch.__version__)
        # True once a CUDA error (e.g. the device-side assert that BCE raises for an input
        # outside [0, 1] on CUDA) has left this process's CUDA context unusable. Later calls are
        # then "crashed"; evaluate_isolated starts a fresh worker instead.
        self.needs_restart = False
        self._poisoned_by = ""
        self.dtypes = frozenset(DTYPES)

    def __repr__(self) -> str:
        return f"TorchBackend(device={self.device!r})"

    def evaluate(self, call: Call) -> Outcome:
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
        if self.needs_restart:
            return Outcome(
                status="crashed",
                error="this process's CUDA context is unusable since an earlier call failed with "
                f"{self._poisoned_by}; evaluate in a fresh process (evaluate_isolated does)",
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self._evaluate(call)
            except Exception as exc:  # torch rejected the call
                if self.device.startswith("cuda") and _is_sticky_cuda_error(exc):
                    self.needs_restart = True
                    self._poisoned_by = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                return Outcome(status="raised", error=error_text(exc))

    def _evaluate(self, call: Call) -> Outcome:
        def tensor(name: str) -> torch.Tensor | None:
            array = getattr(call, name)
            if array is None:
                return None
            t = to_torch(array, dtype_name(array), self.device)  # mixed dtypes keep their own
            t = laid_out_tensor(array, t, call.layout, name)
            if name in call.grad_wrt:
                t.requires_grad_(True)
            return t

        args = {name: tensor(name) for name in GRADIENT_ARGUMENTS}
        loss = self._loss(call, args)

        gradients: dict[str, np.ndarray] = {}
        if call.grad_wrt:
            if call.grad_output is None:
                grad_output = torch.ones_like(loss)
            else:
                grad_output = to_torch(call.grad_output, call.dtype, self.device).to(loss.dtype)
            leaves = [args[name] for name in call.grad_wrt]
            grads = torch.autograd.grad(
                loss, leaves, grad_outputs=grad_output, allow_unused=True, materialize_grads=True
            )
            gradients = {name: to_numpy(g) for name, g in zip(call.grad_wrt, grads)}
        return Outcome(status="ok", value=to_numpy(loss), gradients=gradients)

    def _loss(self, call: Call, args: dict[str, Any]) -> torch.Tensor:
        kwargs = self._loss_kwargs(call, args)
        logits = call.function == "binary_cross_entropy_with_logits"
        if call.api == "module":
            module = (nn.BCEWithLogitsLoss if logits else nn.BCELoss)(**kwargs)
            return module(args["input"], args["target"])
        fn = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
        return fn(args["input"], args["target"], **kwargs)

    @staticmethod
    def _loss_kwargs(call: Call, args: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of the loss call: reduction (or the legacy pair), weight and
        pos_weight when the call carries them."""
        kwargs: dict[str, Any] = {"reduction": call.reduction}
        if call.legacy is not None:
            kwargs["size_average"], kwargs["reduce"] = call.legacy
        if args["weight"] is not None:
            kwargs["weight"] = args["weight"]
        if args["pos_weight"] is not None:
            # binary_cross_entropy has no pos_weight: torch's TypeError is the answer then.
            kwargs["pos_weight"] = args["pos_weight"]
        return kwargs
