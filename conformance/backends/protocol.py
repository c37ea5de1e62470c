"""The one protocol every backend speaks: a Call of NumPy arrays in, an Outcome out.

A backend is a thin adapter. Framework specifics stay inside it; the harness, the comparison and
the reports only ever see Calls and Outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

FUNCTIONS = ("binary_cross_entropy", "binary_cross_entropy_with_logits")
API_FORMS = ("functional", "module")
DTYPES = ("float64", "float32", "float16", "bfloat16")
REDUCTIONS = ("none", "mean", "sum")
# How the arrays of a call lie in memory: contiguous; ``strided`` (every array of rank >= 1 a
# view with stride 2 along its last axis); ``expanded`` (input and target broadcast-expanded,
# stride 0, along their first axis: the case's rows are equal).
LAYOUTS = ("contiguous", "strided", "expanded")
GRADIENT_ARGUMENTS = ("input", "target", "weight", "pos_weight")

FunctionName = Literal["binary_cross_entropy", "binary_cross_entropy_with_logits"]
Status = Literal["ok", "raised", "unsupported", "crashed", "timeout"]


@dataclass(frozen=True)
class Call:
    """One evaluation request.

    Every array is already of ``dtype`` (bfloat16 through ml_dtypes). ``legacy`` carries the
    deprecated ``(size_average, reduce)`` pair when the case uses them instead of ``reduction``
    (a backend without them answers *unsupported*). ``grad_wrt`` names the arguments whose
    gradients are wanted; ``grad_output`` is the upstream gradient (shape of the loss output),
    ones when None.
    """

    function: FunctionName
    dtype: str
    input: np.ndarray
    target: np.ndarray
    weight: np.ndarray | None = None
    pos_weight: np.ndarray | None = None
    reduction: str = "mean"
    api: str = "functional"
    legacy: tuple[bool | None, bool | None] | None = None
    grad_wrt: tuple[str, ...] = ()
    grad_output: np.ndarray | None = None
    layout: str = "contiguous"


@dataclass
class Outcome:
    """What a backend did with a Call.

    ``status``: ``ok`` (value, and gradients if asked), ``raised`` (the framework rejected the
    call: ``error`` holds ``"ExceptionType: message"``), ``unsupported`` (dtype, API form, legacy
    arguments or gradient the backend does not offer; ``error`` says which), ``crashed`` (the
    adapter itself failed) or ``timeout``.
    """

    status: Status
    value: np.ndarray | None = None
    gradients: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None


@runtime_checkable
class Backend(Protocol):
    """A full backend. Plugins may be smaller: see ``conformance.backends.plugins``."""

    name: str
    version: str
    device: str
    dtypes: frozenset[str]
    api_forms: frozenset[str]
    gradients: frozenset[str]
    legacy_arguments: bool

    def evaluate(self, call: Call) -> Outcome: ...


def laid_out(array: np.ndarray | None, layout: str, name: str) -> np.ndarray | None:
    """``array`` (same values) in ``layout``: a stride-2 view, or a stride-0 expansion of its
    first row for input and target (whose rows the case makes equal); else itself."""
    if array is None or array.ndim == 0 or layout == "contiguous":
        return array
    if layout == "strided":
        return np.repeat(array, 2, axis=-1)[..., ::2]
    if layout == "expanded" and name in ("input", "target") and array.shape[0] > 0:
        bits = np.ascontiguousarray(array).view(f"u{array.dtype.itemsize}")
        if (bits == bits[:1]).all():
            return np.broadcast_to(array[:1], array.shape)
    return array


_WIDTH = {"float64": 3, "float32": 2, "float16": 1, "bfloat16": 1}


def promoted_dtype(names) -> str:
    """The result dtype of mixed float arguments (torch.result_type's rule among floats): the
    widest, and float32 for float16 with bfloat16."""
    names = set(names)
    if names == {"float16", "bfloat16"}:
        return "float32"
    return max(names, key=_WIDTH.__getitem__)


def dtype_name(array: np.ndarray) -> str:
    """The name of an array's float format ("bfloat16" for ml_dtypes.bfloat16)."""
    name = np.dtype(array.dtype).name
    return name if name in DTYPES else str(array.dtype)


def with_layout(call: Call) -> Call:
    """The call with its arrays laid out as ``call.layout`` says (in the backend's process)."""
    if call.layout == "contiguous":
        return call
    from dataclasses import replace

    return replace(
        call,
        **{n: laid_out(getattr(call, n), call.layout, n) for n in GRADIENT_ARGUMENTS},
    )


def unsupported(reason: str) -> Outcome:
    return Outcome(status="unsupported", error=reason)


def check_supported(backend: Backend, call: Call) -> Outcome | None:
    """The *unsupported* Outcome for a call outside what ``backend`` declares, else None."""
    if call.dtype not in backend.dtypes:
        return unsupported(f"dtype {call.dtype} is not supported by {backend.name}")
    if call.api not in backend.api_forms:
        return unsupported(f"API form {call.api!r} is not offered by {backend.name}")
    if call.layout not in getattr(backend, "layouts", ("contiguous",)):
        return unsupported(f"{backend.name} does not take {call.layout} arrays")
    if call.legacy is not None and not backend.legacy_arguments:
        return unsupported(f"{backend.name} has no size_average/reduce arguments")
    missing = [w for w in call.grad_wrt if w not in backend.gradients]
    if missing:
        return unsupported(f"{backend.name} gives no gradient with respect to {', '.join(missing)}")
    return None
