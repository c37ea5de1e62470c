"""torch.compile backend: the functional and module forms of torch's BCE losses compiled by
Inductor (CPU: C++ kernels built with the system compiler), forward and backward.

Every call goes through one compiled function per (function, api form), built once per process
with ``torch.compile(..., dynamic=True)``: the loss is computed inside the compiled region
(the module form builds ``nn.BCELoss``/``nn.BCEWithLogitsLoss`` inside it, as a user's compiled
model would), and gradients come from the compiled backward (AOTAutograd) through
``torch.autograd.grad``. Dynamo specializes on the dtypes, ranks, the presence of weight and
pos_weight, the reduction and sizes 0 and 1, so a hunt recompiles a few hundred times; the
recompile limits are raised so that no call silently falls back to eager (with the default
limit of 8, dynamo would run the rest of a hunt in eager mode and the report would describe
torch, not Inductor). ``fallbacks`` counts calls where dynamo reported a graph break or a
fallback, so a report can say the compiled path was really taken.

Arrays cross the boundary as in conformance.backends.torch_backend (bit for bit, bfloat16 by its
pattern); what Inductor does with a call is what the Outcome reports (for instance, it does not
run the eager range check of binary_cross_entropy: an input outside [0, 1] gives NaN instead of
an error).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from conformance.backends.torch_backend import TorchBackend

_LIMIT = 100_000


def _raise_recompile_limits() -> None:
    config = torch._dynamo.config
    for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit",
                 "accumulated_recompile_limit"):  # fmt: skip
        if hasattr(config, name):
            setattr(config, name, _LIMIT)
    if hasattr(config, "suppress_errors"):
        config.suppress_errors = False  # a compile failure is raised, never run eagerly


def _functional(logits: bool):
    fn = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy

    def loss(x, y, kwargs: dict[str, Any]):
        return fn(x, y, **kwargs)

    return loss


def _module(logits: bool):
    cls = nn.BCEWithLogitsLoss if logits else nn.BCELoss

    def loss(x, y, kwargs: dict[str, Any]):
        return cls(**kwargs)(x, y)

    return loss


class TorchCompileBackend(TorchBackend):
    """``torch.compile`` (Inductor) of torch's BCE losses on the CPU."""

    name = "torch-compile"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        _raise_recompile_limits()
        self.version = f"{torch.__version__} inductor"
        self._compiled: dict[tuple[bool, str], Any] = {}

    def __repr__(self) -> str:
        return f"TorchCompileBackend(device={self.device!r})"

    def _compiled_loss(self, logits: bool, api: str):
        key = (logits, api)
        if key not in self._compiled:
            eager = _module(logits) if api == "module" else _functional(logits)
            self._compiled[key] = torch.compile(eager, backend="inductor", dynamic=True)
        return self._compiled[key]

    def _loss(self, call, args: dict[str, Any]) -> torch.Tensor:
        kwargs = self._loss_kwargs(call, args)
        logits = call.function == "binary_cross_entropy_with_logits"
        return self._compiled_loss(logits, call.api)(args["input"], args["target"], kwargs)
