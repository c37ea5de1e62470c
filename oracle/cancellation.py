"""The scale of an element quantity's inherent cancellation: ``sum_j |T_j|`` over its terms.

Some element quantities are a difference of terms whose zero set is transcendental, so no exact
rewrite removes the cancellation: any evaluation that rounds its transcendental term loses
``|T_j| * u`` absolute, whatever the precision it works in (only more precision reduces it).
The judge allows for exactly that: ``|q_hat - q| <= (k + 2) * u * sum_j |T_j|`` (the bound of a
pairwise sum of two terms each within ``k`` ULP, conformance.judge.tolerances). Everywhere else
the scale is ``|q|`` itself and the allowance is no wider than the ULP tolerance.

binary_cross_entropy_with_logits, with ``A = softplus(-x)``, ``B = softplus(x) = x + A``,
``s = sigma(x)``, ``s' = sigma(-x)`` (oracle.bce_logits_terms):

* ``d/dx = w h``, ``h = (1 - y) s - p y s'``. The two terms are equal where
  ``e^x = p y / (1 - y)``: scale ``|w| (|(1 - y) s| + |p y s'|)``;
* ``d/dy = w ((p - 1) A - x) = w (p A - B)``, zero where ``(p - 1) A = x``: the smaller of the
  two decompositions, ``|w| min(|p - 1| A + |x|, |p| A + B)``;
* the value ``w (p y A + (1 - y) B)`` and ``d/dw`` (the bracket): ``|w| (|p y A| + |(1 - y) B|)``,
  which is ``|q|`` for in-contract targets and non-negative pos_weights;
* ``d/dp = w y A``: one term, ``|q|``.

binary_cross_entropy has no inherent cancellation in its contract: ``d/dx`` is rational
(``(x - y) / (x (1 - x))`` is exact to a rounding), ``d/dy`` is ``-log1p((2x - 1)/(1 - x))``
near ``x = 1/2`` (``2x - 1`` exact) and a sum of same-signed logs elsewhere, and the value and
``d/dw`` are sums of same-signed terms. Its scale is ``|q|``.

The scales are float64 evaluations (a few ULP of relative error, no cancellation in any of them:
they are sums of magnitudes). They scale a tolerance and certify nothing. A non-finite argument
or an overflowing scale gives 0: no allowance.
"""

from __future__ import annotations

import numpy as np


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logits_term_scale(
    quantity: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """``sum_j |T_j|`` of quantity 'value', 'input', 'target', 'weight' or 'pos_weight' of the
    logits loss, elementwise over float64 arrays of one shape (the module docstring)."""
    with np.errstate(all="ignore"):
        a, b = _softplus(-x), _softplus(x)
        if quantity in ("value", "weight"):
            bracket = np.abs(p * y * a) + np.abs((1 - y) * b)
        elif quantity == "input":
            bracket = np.abs((1 - y) * _sigmoid(x)) + np.abs(p * y * _sigmoid(-x))
        elif quantity == "target":
            bracket = np.minimum(np.abs(p - 1) * a + np.abs(x), np.abs(p) * a + b)
        elif quantity == "pos_weight":
            bracket = np.abs(y * a)
        else:
            raise ValueError(f"unknown quantity {quantity!r}")
        scale = bracket if quantity == "weight" else np.abs(w) * bracket
    finite = np.isfinite(scale) & np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & np.isfinite(p)
    return np.where(finite, scale, 0.0)
