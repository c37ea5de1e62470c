"""Deliberately wrong backends, one per verdict, built on the oracle's own correct answers.

``OracleBackend`` answers every call with the oracle's correctly rounded values and gradients
(and raises where the oracle raises), so it conforms; each subclass breaks one thing.
"""

from __future__ import annotations

import time

import numpy as np

import oracle
from conformance.backends.protocol import DTYPES, Call, Outcome, check_supported


class OracleBackend:
    name = "oracle-toy"
    version = "0"
    device = "cpu"
    dtypes = frozenset(DTYPES)
    api_forms = frozenset({"functional", "module"})
    gradients = frozenset({"input", "target", "weight", "pos_weight"})
    legacy_arguments = True

    def evaluate(self, call: Call) -> Outcome:
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        kwargs = {"weight": call.weight, "reduction": call.reduction}
        if call.legacy is not None:
            kwargs["size_average"], kwargs["reduce"] = call.legacy
        try:
            if call.function == "binary_cross_entropy":
                r = oracle.binary_cross_entropy(call.input, call.target, **kwargs)
            else:
                r = oracle.binary_cross_entropy_with_logits(
                    call.input, call.target, pos_weight=call.pos_weight, **kwargs
                )
        except oracle.OracleError as exc:
            return Outcome(status="raised", error=f"ValueError: {exc}")
        value = self.transform(r.rounded(call.dtype))
        go = call.grad_output
        grads = {w: self.transform(r.gradient(w, call.dtype, go)) for w in call.grad_wrt}
        return Outcome(status="ok", value=value, gradients=grads)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return values


class OffByEightUlps(OracleBackend):
    name = "off-by-eight-ulps"

    def transform(self, values):
        """Eight steps away from zero, on the bit patterns (works for bfloat16 too)."""
        uint = np.dtype(f"uint{values.dtype.itemsize * 8}")
        bits = np.ascontiguousarray(values).view(uint) + uint.type(8)
        return bits.view(values.dtype).reshape(values.shape)


class AlwaysNan(OracleBackend):
    name = "always-nan"

    def transform(self, values):
        return np.full_like(values, np.nan)


class AlwaysInf(OracleBackend):
    name = "always-inf"

    def transform(self, values):
        return np.full_like(values, np.inf)


class WrongShape(OracleBackend):
    name = "wrong-shape"

    def transform(self, values):
        return np.zeros((7,), dtype=values.dtype)


class AlwaysRaises(OracleBackend):
    name = "always-raises"

    def evaluate(self, call):
        return Outcome(status="raised", error="RuntimeError: not today")


class NeverRaises(OracleBackend):
    """Answers zeros even where the documented contract is violated."""

    name = "never-raises"

    def evaluate(self, call):
        outcome = super().evaluate(call)
        if outcome.status == "raised":
            shape = call.target.shape if call.reduction == "none" else ()
            return Outcome(status="ok", value=np.zeros(shape, dtype=call.input.dtype))
        return outcome


class Float64Only(OracleBackend):
    name = "float64-only"
    dtypes = frozenset({"float64"})


class CrashingAdapter(OracleBackend):
    name = "crashing-adapter"

    def evaluate(self, call):
        raise ZeroDivisionError("the adapter itself is broken")


class Sleeper(OracleBackend):
    name = "sleeper"

    def evaluate(self, call):
        time.sleep(3600)


oracle_backend = OracleBackend()
off_by_eight_ulps = OffByEightUlps()
