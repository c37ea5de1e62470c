"""Backends for the sweep tests: our NumPy kernel, with chosen inputs perturbed by chosen ULPs.

``nudged`` returns the kernel's results with the loss at x = +0 moved up 3 ULP and at x = 1.0
moved up 1 ULP, and the input gradient at x = -0 turned into NaN: a sweep must count exactly
these (and nothing else the kernel gets right).
"""

from __future__ import annotations

import numpy as np

from conformance.backends.numpy_kernel import NumpyKernelBackend
from conformance.backends.protocol import Call, Outcome


def _step(a: np.ndarray, where: np.ndarray, k: int) -> np.ndarray:
    out = a.copy()
    for _ in range(k):
        out[where] = np.nextafter(out[where], np.asarray(np.inf, dtype=a.dtype))
    return out


class Nudged:
    def __init__(self) -> None:
        self._kernel = NumpyKernelBackend()
        for name in ("dtypes", "api_forms", "gradients", "legacy_arguments", "device", "layouts"):
            setattr(self, name, getattr(self._kernel, name))
        self.name, self.version = "nudged", "1"

    def evaluate(self, call: Call) -> Outcome:
        outcome = self._kernel.evaluate(call)
        if outcome.status != "ok" or call.dtype not in ("float16", "float32"):
            return outcome
        x = call.input
        bits = x.view(f"u{x.dtype.itemsize}")
        zero, negative_zero = bits == 0, bits == (1 << (8 * x.dtype.itemsize - 1))
        one = x == 1.0
        value = _step(_step(outcome.value, zero, 3), one, 1)
        gradients = dict(outcome.gradients)
        if "input" in gradients:
            g = gradients["input"].copy()
            g[negative_zero] = np.nan
            gradients["input"] = g
        return Outcome("ok", value=value, gradients=gradients)


nudged = Nudged()
