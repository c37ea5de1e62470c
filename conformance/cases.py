"""A conformance case: function, dtype, API form, reduction and bit-exact input arrays.

Cases travel as JSON in two spellings, both accepted by ``Case.from_json``:
* readable: numbers or nested lists, with "inf", "-inf", "nan" as strings; each number is
  rounded correctly (ties to even) into the case's dtype, so "0.1" means the dtype's nearest 0.1;
* bit-exact (what the reports write): ``{"dtype": ..., "shape": [...], "hex": [...]}``, the bit
  patterns of the dtype, with a readable "values" list beside them that is ignored on reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import oracle
from conformance.backends.protocol import (
    API_FORMS,
    DTYPES,
    FUNCTIONS,
    LAYOUTS,
    REDUCTIONS,
    Call,
    promoted_dtype,
)
from oracle.formats import format_of, from_bits

ARRAY_ARGUMENTS = ("input", "target", "weight", "pos_weight")


class CaseError(ValueError):
    """A case (from JSON or from code) that is not well formed."""


@dataclass(frozen=True, eq=False)
class Case:
    function: str
    dtype: str
    input: np.ndarray
    target: np.ndarray
    weight: np.ndarray | None = None
    pos_weight: np.ndarray | None = None
    reduction: str = "mean"
    api: str = "functional"
    legacy: tuple[bool | None, bool | None] | None = None
    grad_output: np.ndarray | None = None  # upstream gradient (loss output shape); ones if None
    # how a large case was generated (its JSON holds the recipe instead of the arrays)
    recipe: dict[str, Any] | None = None
    layout: str = "contiguous"  # how the arrays reach the backend (protocol.LAYOUTS)
    # Mixed dtypes: arguments held in another dtype than ``dtype`` (the input's), e.g.
    # {"target": "float64"}; see ``result_dtype``.
    argument_dtypes: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise CaseError(f"function: {self.function!r} is not one of {', '.join(FUNCTIONS)}")
        if self.dtype not in DTYPES:
            raise CaseError(f"dtype: {self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.reduction not in REDUCTIONS:
            raise CaseError(f"reduction: {self.reduction!r} is not one of {', '.join(REDUCTIONS)}")
        if self.api not in API_FORMS:
            raise CaseError(f"api: {self.api!r} is not one of {', '.join(API_FORMS)}")
        if self.layout not in LAYOUTS:
            raise CaseError(f"layout: {self.layout!r} is not one of {', '.join(LAYOUTS)}")
        for name, d in (self.argument_dtypes or {}).items():
            if name not in ARRAY_ARGUMENTS[1:] or d not in DTYPES:
                raise CaseError(f"dtypes: {name!r}: {d!r} is not an argument and a dtype")
        if self.pos_weight is not None and self.function == "binary_cross_entropy":
            raise CaseError("pos_weight: binary_cross_entropy has no pos_weight argument")

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {n: getattr(self, n) for n in ARRAY_ARGUMENTS if getattr(self, n) is not None}

    @property
    def effective_reduction(self) -> str:
        if self.legacy is None:
            return self.reduction
        return oracle.resolve_reduction(self.reduction, *self.legacy)

    def to_call(
        self, grad_wrt: tuple[str, ...] = (), grad_output: np.ndarray | None = None
    ) -> Call:
        lay = self.layout
        return Call(
            function=self.function,  # type: ignore[arg-type]
            dtype=self.dtype,
            input=self.input,
            target=self.target,
            weight=self.weight,
            pos_weight=self.pos_weight,
            layout=lay,  # applied by the backend itself (views do not survive pickling)
            reduction=self.reduction,
            api=self.api,
            legacy=self.legacy,
            grad_wrt=grad_wrt,
            grad_output=self.grad_output if grad_output is None and grad_wrt else grad_output,
        )

    def with_(self, **changes: Any) -> Case:
        return replace(self, **changes)

    def key(self) -> bytes:
        """A byte string identifying the case exactly (for caches)."""
        parts = [self.function, self.dtype, self.reduction, self.api, repr(self.legacy)]
        parts.append(self.layout + repr(sorted((self.argument_dtypes or {}).items())))
        for name in ARRAY_ARGUMENTS:
            a = getattr(self, name)
            parts.append(name + ("-" if a is None else repr(a.shape) + a.tobytes().hex()))
        go = self.grad_output
        parts.append("grad_output" + ("-" if go is None else repr(go.shape) + go.tobytes().hex()))
        return "|".join(parts).encode()

    # -- JSON --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "function": self.function,
            "dtype": self.dtype,
            "reduction": self.reduction,
            "api": self.api,
        }
        if self.legacy is not None:
            data["size_average"], data["reduce"] = self.legacy
        if self.layout != "contiguous":
            data["layout"] = self.layout
        if self.argument_dtypes:
            data["dtypes"] = dict(self.argument_dtypes)
        if self.recipe is not None:
            data["recipe"] = dict(self.recipe)
            return data
        for name, a in self.arrays.items():
            data[name] = array_to_json(a)
        if self.grad_output is not None:
            data["grad_output"] = array_to_json(self.grad_output)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Case:
        if not isinstance(data, dict):
            raise CaseError(f"a case must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - {
            "function",
            "dtype",
            "reduction",
            "api",
            "size_average",
            "reduce",
            *ARRAY_ARGUMENTS,
            "grad_output",
            "recipe",
            "layout",
            "dtypes",
            "verdict",
            "note",
        }
        if unknown:
            raise CaseError(f"unknown field(s) {', '.join(sorted(unknown))}")
        for required in ("function", "dtype"):
            if required not in data:
                raise CaseError(f"{required}: missing")
        dtype = data["dtype"]
        if dtype not in DTYPES:
            raise CaseError(f"dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
        legacy = None
        if "size_average" in data or "reduce" in data:
            legacy = (data.get("size_average"), data.get("reduce"))
            for flag in legacy:
                if flag is not None and not isinstance(flag, bool):
                    raise CaseError(
                        f"size_average/reduce: must be true, false or null, got {flag!r}"
                    )
        if "recipe" in data:
            from conformance.hunt.large import case_from_recipe

            return case_from_recipe(data["recipe"], data, legacy)
        for required in ("input", "target"):
            if required not in data:
                raise CaseError(f"{required}: missing")
        mixed = data.get("dtypes") or {}
        if not isinstance(mixed, dict):
            raise CaseError(f"dtypes: must map arguments to dtypes, got {mixed!r}")
        for name, d in mixed.items():
            if name not in ARRAY_ARGUMENTS[1:] or d not in DTYPES:
                raise CaseError(f"dtypes: {name!r}: {d!r} is not an argument and a dtype")
        arrays = {
            name: array_from_json(data[name], mixed.get(name, dtype), name)
            for name in ARRAY_ARGUMENTS
            if data.get(name) is not None
        }
        grad_output = None
        if data.get("grad_output") is not None:
            grad_output = array_from_json(data["grad_output"], dtype, "grad_output")
        return cls(
            function=data["function"],
            dtype=dtype,
            reduction=data.get("reduction", "mean"),
            api=data.get("api", "functional"),
            legacy=legacy,
            grad_output=grad_output,
            layout=data.get("layout", "contiguous"),
            argument_dtypes=dict(mixed) or None,
            **arrays,
        )


def result_dtype(case: Case) -> str:
    """The promoted dtype of a mixed-dtype case (protocol.promoted_dtype); ``case.dtype`` when
    nothing is mixed."""
    return promoted_dtype({case.dtype, *(case.argument_dtypes or {}).values()})


def argument_dtype(case: Case, name: str) -> str:
    return (case.argument_dtypes or {}).get(name, case.dtype)


def array_to_json(a: np.ndarray) -> dict[str, Any]:
    fmt = format_of(a.dtype)
    bits = np.ascontiguousarray(a).view(fmt.uint_dtype).reshape(-1)
    width = fmt.width // 4
    values = [_readable(float(v)) for v in a.astype(np.float64).reshape(-1)]
    return {
        "dtype": fmt.name,
        "shape": list(a.shape),
        "hex": [f"0x{int(b):0{width}x}" for b in bits],
        "values": values,
    }


def _readable(v: float) -> float | str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _is_ragged(value: Any) -> bool:
    """A nested list whose rows differ in length or depth."""
    if not isinstance(value, list):
        return False
    kinds = {isinstance(v, list) for v in value}
    if len(kinds) > 1:
        return True
    if kinds == {True}:
        if len({len(v) for v in value}) > 1:
            return True
        return any(_is_ragged(v) for v in value)
    return False


def array_from_json(value: Any, dtype: str, name: str) -> np.ndarray:
    """An array of ``dtype`` from either JSON spelling (see the module docstring)."""
    fmt = format_of(dtype)
    if isinstance(value, dict):
        try:
            shape = tuple(int(s) for s in value["shape"])
            bits = [int(h, 16) for h in value["hex"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise CaseError(f"{name}: a bit-exact array needs 'shape' and 'hex' ({exc})") from None
        if value.get("dtype", dtype) != dtype:
            raise CaseError(f"{name}: stored as {value.get('dtype')} but the case is {dtype}")
        if int(np.prod(shape, dtype=np.int64)) != len(bits):
            raise CaseError(f"{name}: {len(bits)} bit patterns do not fill shape {shape}")
        return from_bits(np.array(bits, dtype=fmt.uint_dtype), fmt).reshape(shape)
    if _is_ragged(value):
        raise CaseError(f"{name}: a ragged list (rows of different lengths) is not an array")
    try:
        nested = np.array(value, dtype=object)
    except ValueError:
        raise CaseError(f"{name}: not a rectangular array") from None
    out = np.empty(nested.shape, dtype=fmt.numpy_dtype)
    flat = out.reshape(-1)
    for i, v in enumerate(nested.reshape(-1)):
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise CaseError(f"{name}: {v!r} is not a number")
        try:
            flat[i] = oracle.round_to(v, dtype)
        except (ValueError, ZeroDivisionError):
            raise CaseError(f"{name}: cannot read {v!r} as a number") from None
    return out
