"""Toy plugins that differ only in how they accumulate a float32 sum (for the large-reduction
bound): every element term is computed in float64 and rounded once to float32, then summed
sequentially (one running float32 accumulator) or pairwise (NumPy's float32 ``sum``)."""

import numpy as np


def _terms(input, target, weight, pos_weight):
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    p = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
    w = 1.0 if weight is None else np.asarray(weight, dtype=np.float64)
    t = w * (p * y * np.logaddexp(0.0, -x) + (1 - y) * np.logaddexp(0.0, x))
    return np.broadcast_to(t, np.shape(x)).astype(np.asarray(input).dtype)


def _reduce(terms, reduction, accumulate):
    if reduction == "none":
        return terms
    total = accumulate(terms.reshape(-1)) if terms.size else terms.dtype.type(0)
    if reduction == "mean":
        return np.asarray(total / terms.dtype.type(terms.size), dtype=terms.dtype)
    return np.asarray(total, dtype=terms.dtype)


class _Accumulator:
    dtypes = {"float32"}

    def __init__(self, accumulate):
        self._accumulate = accumulate

    def binary_cross_entropy_with_logits(
        self, input, target, weight=None, pos_weight=None, reduction="mean"
    ):
        terms = _terms(input, target, weight, pos_weight)
        return _reduce(terms, reduction, self._accumulate)


sequential = _Accumulator(lambda t: np.cumsum(t, dtype=t.dtype)[-1])
pairwise = _Accumulator(lambda t: np.sum(t, dtype=t.dtype))
