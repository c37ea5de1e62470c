"""Build one-element records (Example, DivergenceClass) and kernel inputs for the findings tests."""

from __future__ import annotations

import numpy as np

from conformance.cases import Case
from conformance.findings.elements import Element, Gathered
from conformance.records import DivergenceClass, Example
from oracle.formats import format_of


def scalar(value: float, dtype: str):
    return np.asarray(value).astype(format_of(dtype).numpy_dtype)[()]


def gathered(function, quantity, dtype, x, y, w=None, p=None, reduction="none", numel=1):
    e = Element(
        scalar(x, dtype),
        scalar(y, dtype),
        None if w is None else scalar(w, dtype),
        None if p is None else scalar(p, dtype),
    )
    return Gathered(function, dtype, quantity, reduction, (e,), numel, reduction != "none")


def one_element_class(
    function, quantity, dtype, got, *, x, y, w=None, p=None, verdict="value_mismatch"
) -> DivergenceClass:
    arrays = {"input": [x], "target": [y]}
    if w is not None:
        arrays["weight"] = [w]
    if p is not None:
        arrays["pos_weight"] = [p]
    np_dtype = format_of(dtype).numpy_dtype
    case = Case(
        function=function,
        dtype=dtype,
        reduction="none",
        **{k: np.array(v, dtype=np.float64).astype(np_dtype) for k, v in arrays.items()},
    )
    ex = Example(
        case=case.to_json(),
        quantity=quantity,
        element=[0],
        expected="0.0",
        expected_exact="0.0",
        got=got,
        ulp=None,
        condition_error=None,
        reproducer="",
    )
    return DivergenceClass(
        class_id=f"{function}/{dtype}/{quantity}/{verdict}/test",
        function=function,
        dtype=dtype,
        quantity=quantity,
        verdict=verdict,
        regime="test",
        description="",
        count=1,
        max_ulp=None,
        minimal=ex,
        worst=ex,
    )
