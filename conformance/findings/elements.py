"""The divergent element of a recorded example, rebuilt bit-exactly from the case JSON.

An ``Example`` records a case (inputs as hexadecimal bit patterns), the quantity and the index of
the worst element. ``element_inputs`` rebuilds what a kernel saw for that element: the input x,
target y, weight w and pos_weight p broadcast to the loss shape, and, for a quantity that gathers
several loss elements (a reduced loss, a weight gradient summed over broadcast axes), every
contributing element in C order. ``recorded_output`` reads the backend's output back into the
dtype; ``got`` is the repr of a value of that dtype, so the reading is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from conformance.cases import Case, CaseError
from conformance.findings.arithmetic import Scalar, to


@dataclass(frozen=True)
class Element:
    """One loss element as a kernel sees it (``w``/``p`` None where the argument is absent)."""

    x: Scalar
    y: Scalar
    w: Scalar | None
    p: Scalar | None
    go: Scalar | None = None  # the upstream gradient reaching this element (None: ones)

    def inputs(self) -> tuple[Scalar, ...]:
        return tuple(v for v in (self.x, self.y, self.w, self.p) if v is not None)

    def finite(self) -> bool:
        return all(bool(np.isfinite(v)) for v in self.inputs())


@dataclass(frozen=True)
class Gathered:
    """What one recorded output depends on: its elements and how they are combined."""

    function: str
    dtype: str
    quantity: str
    reduction: str  # the effective reduction of the case
    elements: tuple[Element, ...]
    numel: int  # elements of the loss (the mean's divisor)
    summed: bool  # the output sums several elements (reduced loss, broadcast weight gradient)
    argument_dtypes: tuple[tuple[str, str], ...] = ()  # mixed-dtype case: (argument, dtype)

    def argument_dtype(self, name: str) -> str:
        """The dtype of argument ``name`` (the case's dtype unless the case mixes dtypes)."""
        return dict(self.argument_dtypes).get(name, self.dtype)

    @property
    def single(self) -> Element:
        return self.elements[0]

    def all_finite(self) -> bool:
        """Every input the quantity's formula reads is finite (a weight gradient does not read
        the weight)."""
        skip_weight = self.quantity == "grad_weight"
        return all(
            bool(np.isfinite(v))
            for e in self.elements
            for v in (e.x, e.y, None if skip_weight else e.w, e.p)
            if v is not None
        )


def _case(example: Any) -> Case | None:
    try:
        return Case.from_json(example.case)
    except (CaseError, KeyError, TypeError, ValueError):
        return None


def gather(example: Any) -> Gathered | None:
    """The elements behind ``example``'s recorded output, or None where they cannot be rebuilt
    (an error example, arrays that do not broadcast, a gradient of a broadcast input)."""
    case = _case(example)
    if case is None or example.element is None:
        return None
    arrays = case.arrays
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        return None
    full = {n: np.broadcast_to(a, shape) for n, a in arrays.items()}
    index = tuple(example.element)
    quantity = example.quantity
    reduction = case.effective_reduction
    if quantity == "value":
        if reduction == "none":
            if len(index) != len(shape):
                return None
            loss_indices = [index]
        else:
            loss_indices = list(np.ndindex(*shape)) if shape else [()]
    else:
        wrt = quantity.removeprefix("grad_")
        if wrt not in arrays:
            return None
        own = arrays[wrt].shape
        if own != shape and wrt in ("input", "target"):
            return None
        if len(index) != len(own):
            return None
        if own == shape:  # an argument of the loss's shape: its element is one loss element
            loss_indices = [index]
        else:
            loss_indices = [
                i
                for i in (np.ndindex(*shape) if shape else [()])
                if _projects(i, shape, own, index)
            ]
    elements = tuple(_element(full, i) for i in loss_indices)
    if case.grad_output is not None and quantity != "value":
        go = case.grad_output
        elements = tuple(
            replace(
                e, go=to(go[i] if reduction == "none" and go.shape else go.reshape(()), case.dtype)
            )
            for e, i in zip(elements, loss_indices)
        )
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    return Gathered(
        function=case.function,
        dtype=case.dtype,
        quantity=quantity,
        reduction=reduction,
        elements=elements,
        numel=numel,
        summed=len(elements) > 1 or (quantity == "value" and reduction != "none"),
        argument_dtypes=tuple(sorted((case.argument_dtypes or {}).items())),
    )


def _projects(loss_index: tuple, shape: tuple, own: tuple, index: tuple) -> bool:
    """Whether loss element ``loss_index`` broadcasts from element ``index`` of an ``own``-shaped
    argument (right-aligned broadcasting; size-1 axes repeat)."""
    offset = len(shape) - len(own)
    for axis, size in enumerate(own):
        if size != 1 and loss_index[offset + axis] != index[axis]:
            return False
    return True


def _element(full: dict[str, np.ndarray], i: tuple) -> Element:
    def at(name: str) -> Scalar | None:
        a = full.get(name)
        return None if a is None else a[i]

    return Element(x=at("input"), y=at("target"), w=at("weight"), p=at("pos_weight"))


def recorded_output(example: Any, dtype: str) -> Scalar | None:
    """The backend's recorded output (``got``) as a scalar of ``dtype``, or None if it is not a
    number (an exception text, a shape message)."""
    text = (example.got or "").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isnan(value):
        return to(math.nan, dtype)
    return to(value, dtype)
