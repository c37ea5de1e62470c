"""Witnesses: one small input per mutant, with the closed-form answer the documentation gives.

A witness states a call (function, dtype, arrays, reduction, and the quantity: the loss or one
gradient) and its expected result as a closed form in mpmath, derived by hand from
docs/semantics.md, never taken from the oracle or from an implementation. ``judge`` runs a
plugin on it and says whether the result conforms: the correctly rounded expected value within
the harness's plugin tolerance (4 ULP in float64 and float32, 2 in float16 and bfloat16), NaN
for NaN, the expected shape and dtype, or an exception where the contract says "raise".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from oracle.formats import round_to, ulp_distance
from tests.mutation.reference import NUMPY_DTYPES

RAISES = "raises"
TOLERANCE_ULP = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class Witness:
    """A call and its closed-form result. ``expected(m, v)`` gets the mpmath module and the
    exact input values (``v["input"]`` etc., nested lists of mpf) and returns a number or a
    nested list of numbers (mpf, int, ``m.inf``, ``m.nan``), or the witness says ``RAISES``."""

    function: str
    dtype: str
    input: Any
    target: Any
    expected: Callable[[Any, dict[str, Any]], Any] | str
    derivation: str
    weight: Any = None
    pos_weight: Any = None
    reduction: str = "mean"
    quantity: str = "value"  # or grad_input, grad_target, grad_weight, grad_pos_weight
    grad_output: Any = None

    def arrays(self) -> dict[str, np.ndarray]:
        dtype = NUMPY_DTYPES[self.dtype]
        out = {}
        for name in ("input", "target", "weight", "pos_weight", "grad_output"):
            value = getattr(self, name)
            if value is not None:
                out[name] = np.array(value, dtype=np.float64).astype(dtype)
        return out

    def exact_inputs(self) -> dict[str, Any]:
        return {name: _to_mpf(a.astype(np.float64).tolist()) for name, a in self.arrays().items()}

    def expected_array(self) -> np.ndarray:
        """The expected result correctly rounded into the dtype."""
        with mpmath.workdps(60):
            value = self.expected(mpmath, self.exact_inputs())  # type: ignore[operator]
        nested = np.array(value, dtype=object)
        out = np.empty(nested.shape, dtype=NUMPY_DTYPES[self.dtype])
        flat = out.reshape(-1)
        for i, v in enumerate(nested.reshape(-1)):
            flat[i] = round_to(mpmath.mpf(v), self.dtype)
        return out

    def case_json(self) -> dict[str, Any] | None:
        """The witness as a ``conformance replay`` case (bit-exact arrays), or None when it
        needs an upstream gradient other than ones, which a case cannot carry."""
        if self.grad_output is not None:
            return None
        from conformance.cases import array_to_json

        case: dict[str, Any] = {
            "function": self.function,
            "dtype": self.dtype,
            "reduction": self.reduction,
        }
        for name, a in self.arrays().items():
            case[name] = array_to_json(a)
        return case

    def run(self, plugin: Any) -> np.ndarray:
        """The plugin's answer (exceptions propagate)."""
        a = self.arrays()
        kwargs: dict[str, Any] = {"reduction": self.reduction}
        if "weight" in a:
            kwargs["weight"] = a["weight"]
        if "pos_weight" in a:
            kwargs["pos_weight"] = a["pos_weight"]
        if self.quantity == "value":
            return np.asarray(getattr(plugin, self.function)(a["input"], a["target"], **kwargs))
        wrt = self.quantity.removeprefix("grad_")
        value = getattr(plugin, self.function)(a["input"], a["target"], **kwargs)
        grad_output = a.get("grad_output")
        if grad_output is None:
            grad_output = np.ones(np.shape(value), dtype=NUMPY_DTYPES[self.dtype])
        grads = plugin.gradient(
            self.function,
            (wrt,),
            a["input"],
            a["target"],
            weight=a.get("weight"),
            pos_weight=a.get("pos_weight"),
            reduction=self.reduction,
            grad_output=grad_output,
        )
        return np.asarray(grads[wrt])


def _to_mpf(value: Any) -> Any:
    if isinstance(value, list):
        return [_to_mpf(v) for v in value]
    return mpmath.mpf(value)


def judge(plugin: Any, witness: Witness) -> tuple[bool, str]:
    """(conforms, what happened) for ``plugin`` on ``witness``."""
    try:
        got = witness.run(plugin)
    except Exception as exc:  # the plugin rejected the call
        raised = f"raised {type(exc).__name__}: {exc}"
        return witness.expected == RAISES, raised
    if witness.expected == RAISES:
        return False, f"returned {got!r} where the contract says raise"
    want = witness.expected_array()
    if got.shape != want.shape or got.dtype != want.dtype:
        return False, f"got {got.dtype}{list(got.shape)}, want {want.dtype}{list(want.shape)}"
    ulps = ulp_distance(want, got)
    worst = float(ulps.max()) if ulps.size else 0.0
    ok = worst <= TOLERANCE_ULP[witness.dtype]
    return ok, f"got {got.tolist()}, want {want.tolist()} ({worst:g} ULP)"
