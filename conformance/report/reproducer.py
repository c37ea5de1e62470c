"""Copy-paste reproducers in the backend's own API.

Array literals are the exact values: a float64 repr round-trips, and every value of a narrower
dtype converts exactly from its float64 repr, so ``torch.tensor([...], dtype=torch.bfloat16)``
rebuilds the very bits of the case.

Given the divergent ``element`` (and the oracle's ``expected`` value there), a reproducer prints
that element's inputs (``repr`` of ``.item()``), the backend's value, the expected value and
whether they agree, bit for bit (repr of the float, so -0.0 and NaN compare as values should).
For a case where the contract requires an error (``expect_error``), it prints what the backend
returned instead. Without an element it prints the whole result as a list of full-precision
floats.
"""

from __future__ import annotations

import json
import math

import numpy as np

from conformance.backends.protocol import laid_out
from conformance.cases import Case, argument_dtype, result_dtype


def _literal(a: np.ndarray) -> str:
    def one(v: float) -> str:
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        return repr(v)

    def nested(x):
        if isinstance(x, list):
            return "[" + ", ".join(nested(e) for e in x) + "]"
        return one(x)

    return nested(a.astype(np.float64).tolist())


def _report_lines(
    case: Case,
    result: str,
    element: tuple[int, ...] | None,
    expected: str | None,
    exact: str | None,
    expect_error: str | None,
) -> list[str]:
    """The printing tail of a reproducer; ``result`` names the tensor holding the quantity."""
    if expect_error is not None:
        return [
            f"# the documented contract requires an error here: {expect_error}",
            f"print('returned instead of raising:', {result}.tolist())",
        ]
    if element is None:
        return [
            f"print('dtype and shape:', {result}.dtype, list({result}.shape))",
            f"print({result}.tolist())",
        ]
    lines = [f"i = {tuple(element)!r}"]
    for name, a in case.arrays.items():
        if a.ndim == len(element) and all(0 <= e < n for e, n in zip(element, a.shape)):
            label = f"{name}[i] =".ljust(14)
            lines.append(f"print({label!r}, repr({name}[i].item()))")
        else:
            label = f"{name} =".ljust(14)
            lines.append(f"print({label!r}, {name}.tolist())")
    lines.append(f"got = {result}[i].item()" if element else f"got = {result}.item()")
    if expected is None:
        return lines + ["print('got =          ', repr(got))"]
    note = f"  # exact: {exact}" if exact else ""
    lines += [
        f"expected = {expected!r}  # oracle, correctly rounded to {result_dtype(case)}{note}",
        "print('got =          ', repr(got))",
        "print('expected =     ', expected)",
        "print('agrees:', repr(got) == expected)",
    ]
    return lines


def _torch_layout(case: Case, name: str, a: np.ndarray) -> str:
    """The view the backend passes for ``case.layout`` (protocol.laid_out): a stride-2 view, or
    a stride-0 expansion of the first row; "" when the array goes as it is."""
    view = laid_out(a, case.layout, name)
    if view is None or view.ndim == 0 or case.layout == "contiguous":
        return ""
    if case.layout == "strided":
        return ".repeat_interleave(2, dim=-1)[..., ::2]"
    if view.size and view.strides[0] == 0:
        return f"[:1].expand({tuple(a.shape)!r})"
    return ""


def _torch(case: Case, quantity: str, device: str, **tail) -> str:
    dev = "" if device in ("cpu", "") else f", device={device!r}"
    grad = quantity.removeprefix("grad_") if quantity.startswith("grad_") else None
    lines = ["import torch", "import torch.nn.functional as F", ""]
    for name, a in case.arrays.items():
        dt = f"torch.{argument_dtype(case, name)}"
        view = _torch_layout(case, name, a)
        if view:
            rg = ".detach().requires_grad_()" if name == grad else ""
            lines.append(f"{name} = torch.tensor({_literal(a)}, dtype={dt}{dev}){view}{rg}")
        else:
            rg = ", requires_grad=True" if name == grad else ""
            lines.append(f"{name} = torch.tensor({_literal(a)}, dtype={dt}{dev}{rg})")
    args = ["input", "target"]
    if case.weight is not None:
        args.append("weight=weight")
    if case.pos_weight is not None:
        args.append("pos_weight=pos_weight")
    if case.legacy is not None:
        args.append(f"size_average={case.legacy[0]!r}, reduce={case.legacy[1]!r}")
    else:
        args.append(f"reduction={case.reduction!r}")
    if case.api == "module":
        cls = "BCELoss" if case.function == "binary_cross_entropy" else "BCEWithLogitsLoss"
        ctor = [a for a in args[2:]]
        lines.append(f"loss = torch.nn.{cls}({', '.join(ctor)})(input, target)")
    else:
        lines.append(f"loss = F.{case.function}({', '.join(args)})")
    result = "loss"
    if grad and case.grad_output is not None:
        go = _literal(np.asarray(case.grad_output))
        lines.append(
            f"grad_output = torch.tensor({go}, dtype=torch.{case.dtype}{dev}).to(loss.dtype)"
        )
        lines.append("loss.backward(grad_output)")
        result = f"{grad}.grad"
    elif grad:
        lines.append("loss.backward(torch.ones_like(loss))")
        result = f"{grad}.grad"
    lines += _report_lines(case, result, **tail)
    return "\n".join(lines)


def _paddle(case: Case, quantity: str, device: str, **tail) -> str:
    grad = quantity.removeprefix("grad_") if quantity.startswith("grad_") else None
    lines = ["import paddle", "import paddle.nn.functional as F", ""]
    if device not in ("cpu", ""):
        lines.append(f"paddle.set_device({device!r})")
    else:
        lines.append("paddle.set_device('cpu')")
    for name, a in case.arrays.items():
        sg = ", stop_gradient=False" if name == grad else ""
        dt = argument_dtype(case, name)
        lines.append(f"{name} = paddle.to_tensor({_literal(a)}, dtype='{dt}'{sg})")
    args = ["input", "target"]
    if case.weight is not None:
        args.append("weight=weight")
    if case.pos_weight is not None:
        args.append("pos_weight=pos_weight")
    args.append(f"reduction={case.reduction!r}")
    if case.api == "module":
        cls = "BCELoss" if case.function == "binary_cross_entropy" else "BCEWithLogitsLoss"
        lines.append(f"loss = paddle.nn.{cls}({', '.join(args[2:])})(input, target)")
    else:
        lines.append(f"loss = F.{case.function}({', '.join(args)})")
    result = "loss"
    if grad and case.grad_output is not None:
        go = _literal(np.asarray(case.grad_output))
        lines.append(f"loss.backward(paddle.to_tensor({go}, dtype='{case.dtype}'))")
        result = f"{grad}.grad"
    elif grad:
        lines.append("loss.backward(paddle.ones_like(loss))")
        result = f"{grad}.grad"
    lines += _report_lines(case, result, **tail)
    return "\n".join(lines)


def _numpy_dtype(name: str) -> str:
    return "ml_dtypes.bfloat16" if name == "bfloat16" else f"np.{name}"


def _numpy_kernel(case: Case, quantity: str) -> str:
    lines = ["import numpy as np"]
    if "bfloat16" in {argument_dtype(case, n) for n in case.arrays}:
        lines.append("import ml_dtypes")
    lines += ["from conformance.backends import numpy_kernel", ""]
    wide = result_dtype(case)  # the adapter widens mixed dtypes (exactly) to the promoted one
    for name, a in case.arrays.items():
        d = argument_dtype(case, name)
        dt = _numpy_dtype(d)
        widen = "" if d == wide else f".astype({_numpy_dtype(wide)})"
        lines.append(f"{name} = np.array({_literal(a)}, dtype={dt}){widen}")
    args = ["input", "target"]
    if case.weight is not None:
        args.append("weight=weight")
    if case.pos_weight is not None:
        args.append("pos_weight=pos_weight")
    args.append(f"reduction={case.effective_reduction!r}")
    if quantity == "value":
        lines.append(f"print(numpy_kernel.{case.function}({', '.join(args)}))")
    else:
        wrt = quantity.removeprefix("grad_")
        args.append(f"wrt=({wrt!r},)")
        if case.grad_output is not None:
            go = _literal(np.asarray(case.grad_output))
            lines.append(f"grad_output = np.array({go}, dtype={_numpy_dtype(case.dtype)})")
            args.append("grad_output=grad_output")
        lines.append(f"print(numpy_kernel.{case.function}_gradients({', '.join(args)}))")
    return "\n".join(lines)


def _replay(case: Case, quantity: str, spec: str) -> str:
    """Any other backend: the exact case as JSON, replayed through the command line."""
    return "\n".join(
        [
            f"# {quantity} of this case, through the backend's adapter:",
            "cat > case.json <<'EOF'",
            json.dumps([case.to_json()]),
            "EOF",
            f"bce-conformance replay --backend {spec} case.json",
        ]
    )


def reproducer(
    case: Case,
    quantity: str,
    backend: str,
    device: str = "cpu",
    spec: str | None = None,
    element: tuple[int, ...] | list[int] | None = None,
    expected: str | None = None,
    exact: str | None = None,
    expect_error: str | None = None,
) -> str:
    """A snippet that re-runs ``case`` in ``backend``'s own API and prints the quantity; for a
    plugin, a ``bce-conformance replay`` of the exact case (``spec``: how it was loaded).

    With ``element`` it prints that element's inputs, the backend's value, ``expected`` (the
    oracle's correctly rounded value, a repr) and whether they agree; with ``expect_error`` (the
    error the contract requires) it prints what the backend returned instead.
    """
    tail = {
        "element": None if element is None else tuple(element),
        "expected": expected,
        "exact": exact,
        "expect_error": expect_error,
    }
    if backend == "torch":
        return _torch(case, quantity, device, **tail)
    if backend == "paddle":
        return _paddle(case, quantity, device, **tail)
    if backend == "numpy":
        return _numpy_kernel(case, quantity)
    return _replay(case, quantity, spec or backend)
