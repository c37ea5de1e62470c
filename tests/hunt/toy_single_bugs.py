"""Toy plugins with one deliberate bug each, on top of the careful NumPy kernel, for the tests of
coverage, minimization and tiers. Each says in its docstring which inputs reveal it."""

import numpy as np

from conformance.backends import numpy_kernel as K


class _Kernel:
    """The project's NumPy kernel as a minimal plugin (values only)."""

    def binary_cross_entropy(self, input, target, weight=None, reduction="mean"):
        return K.binary_cross_entropy(input, target, weight, reduction=reduction)

    def binary_cross_entropy_with_logits(
        self, input, target, weight=None, pos_weight=None, reduction="mean"
    ):
        return K.binary_cross_entropy_with_logits(
            input, target, weight, pos_weight=pos_weight, reduction=reduction
        )


class _LargeLogitsDoubled(_Kernel):
    """Doubles the unreduced logits loss wherever x > 10: a single-element bug."""

    def binary_cross_entropy_with_logits(
        self, input, target, weight=None, pos_weight=None, reduction="mean"
    ):
        out = super().binary_cross_entropy_with_logits(input, target, weight, pos_weight, "none")
        out = np.where(np.asarray(input) > 10, out * 2, out).astype(out.dtype)
        if reduction == "none":
            return out
        return np.asarray(out.sum() if reduction == "sum" else out.mean(), dtype=out.dtype)


class _OutOfContractNaN(_Kernel):
    """Careful inside the contract; NaN for every target outside [0, 1] (which the docs exclude)."""

    def binary_cross_entropy_with_logits(
        self, input, target, weight=None, pos_weight=None, reduction="mean"
    ):
        out = super().binary_cross_entropy_with_logits(input, target, weight, pos_weight, "none")
        y = np.asarray(target).astype(np.float64)
        out = np.where((y >= 0) & (y <= 1), out, np.nan).astype(out.dtype)
        if reduction == "none":
            return out
        return np.asarray(out.sum() if reduction == "sum" else out.mean(), dtype=out.dtype)


careful = _Kernel()
large_logits_doubled = _LargeLogitsDoubled()
out_of_contract_nan = _OutOfContractNaN()
logits_only = type("LogitsOnly", (), {"binary_cross_entropy_with_logits": staticmethod(
    careful.binary_cross_entropy_with_logits)})()  # fmt: skip
