"""ONNX Runtime backend: PyTorch's losses exported to ONNX and run by ONNX Runtime on the CPU.

ONNX has no binary cross-entropy operator, so a model that computes one carries the graph its
exporter wrote. This adapter audits the path a deployment takes: ``torch.onnx.export`` (the
TorchScript exporter, ``dynamo=False``, its default opset) of a module that calls
``torch.nn.functional.binary_cross_entropy`` or ``binary_cross_entropy_with_logits`` with the
call's reduction, weight and pos_weight, then ``onnxruntime.InferenceSession`` with the
``CPUExecutionProvider`` and one thread.

* One graph per signature: function, reduction, which of weight and pos_weight are given, and
  the rank and dtype of every argument. It is traced on in-contract example arrays (shape 2 along
  every axis, probabilities and targets 1/2, weights 1) with every axis dynamic, so the call's
  own arrays (their values and sizes, also out-of-contract ones) reach ONNX Runtime unchanged:
  what the exported graph does with them is what is judged. A graph the exporter cannot write
  for a signature, or ONNX Runtime cannot run in a dtype (no CPU kernel), is *unsupported*.
* Values only: an inference session has no gradients. Also unsupported: the module form (the
  same graph), the legacy ``size_average``/``reduce`` pair, strided or expanded layouts, and
  bfloat16 (NumPy arrays of ml_dtypes' bfloat16 have no ONNX Runtime input type).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from typing import Any

import numpy as np

from conformance.backends.protocol import Call, Outcome, check_supported, unsupported

LOGITS = "binary_cross_entropy_with_logits"
ARGUMENTS = ("input", "target", "weight", "pos_weight")


def _frameworks():
    import onnx
    import onnxruntime
    import torch

    return torch, onnx, onnxruntime


class OnnxRuntimeBackend:
    name = "onnxruntime"
    device = "cpu"
    dtypes = frozenset({"float64", "float32", "float16"})
    api_forms = frozenset({"functional"})
    layouts = frozenset({"contiguous"})
    gradients: frozenset[str] = frozenset()
    legacy_arguments = False

    def __init__(self) -> None:
        self._torch, self._onnx, self._ort = _frameworks()
        self._sessions: dict[tuple, Any] = {}
        self._unexportable: dict[str, str] = {}  # functions the exporter has no ONNX for
        self.version = (
            f"onnxruntime {self._ort.__version__}, graphs exported by torch "
            f"{self._torch.__version__} (torch.onnx.export, dynamo=False), onnx "
            f"{self._onnx.__version__}"
        )

    def __repr__(self) -> str:
        return "OnnxRuntimeBackend()"

    def evaluate(self, call: Call) -> Outcome:
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        given = [n for n in ARGUMENTS if getattr(call, n) is not None]
        key = (
            call.function,
            call.reduction,
            tuple(
                (n, np.asarray(getattr(call, n)).dtype.str, np.ndim(getattr(call, n)))
                for n in given
            ),
        )
        if call.function in self._unexportable:
            return unsupported(self._unexportable[call.function])
        if key not in self._sessions:
            self._sessions[key] = self._session(call, given)
        session = self._sessions[key]
        if isinstance(session, str):
            return unsupported(session)
        feeds = {n: np.ascontiguousarray(getattr(call, n)) for n in given}
        try:
            (value,) = session.run(None, feeds)
        except Exception as exc:  # ONNX Runtime rejected the arrays (shapes, for instance)
            message = " ".join(str(exc).split())
            return Outcome(status="raised", error=f"{type(exc).__name__}: {message}")
        return Outcome(status="ok", value=np.asarray(value))

    def _session(self, call: Call, given: list[str]) -> Any:
        """An inference session for the call's signature, or why there is none (a string)."""
        torch = self._torch
        examples = []
        for n in given:
            arr = np.asarray(getattr(call, n))
            fill = 1.0 if n in ("weight", "pos_weight") else 0.5
            examples.append(torch.full((2,) * arr.ndim, fill, dtype=getattr(torch, arr.dtype.name)))
        module = _module(torch, call.function, call.reduction, given)
        buffer = io.BytesIO()
        axes = {n: {i: f"{n}_{i}" for i in range(np.ndim(getattr(call, n)))} for n in given}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with _quiet_file_descriptors():  # the exporter prints graphs from C++
                    torch.onnx.export(
                        module,
                        tuple(examples),
                        buffer,
                        dynamo=False,
                        input_names=given,
                        output_names=["loss"],
                        dynamic_axes=axes,
                    )
        except Exception as exc:
            reason = f"torch.onnx.export cannot write it: {type(exc).__name__}: {_first_line(exc)}"
            if type(exc).__name__ == "UnsupportedOperatorError":  # the operator, any signature
                self._unexportable[call.function] = reason
            return reason
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # errors reach the Outcome, not the terminal
        try:
            return self._ort.InferenceSession(
                buffer.getvalue(), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            text = " ".join(str(exc).split())
            return f"onnxruntime cannot run the exported graph in {call.dtype}: {text[:200]}"


@contextlib.contextmanager
def _quiet_file_descriptors():
    """File descriptors 1 and 2 pointed at /dev/null for the block (output written from C++
    bypasses ``sys.stdout``), then restored."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _module(torch: Any, function: str, reduction: str, given: list[str]) -> Any:
    """A module whose forward takes the given arguments positionally and calls the loss."""
    functional = getattr(torch.nn.functional, function)

    class Loss(torch.nn.Module):
        def forward(self, *args: Any) -> Any:
            kwargs = dict(zip(given, args))
            return functional(
                kwargs.pop("input"), kwargs.pop("target"), reduction=reduction, **kwargs
            )

    return Loss()
