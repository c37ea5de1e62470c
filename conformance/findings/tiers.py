"""Severity tiers of a divergence, decided at the element where it happens.

* ``out_of_contract``: the divergent element (any element, for a reduced quantity or a failed
  call) has a target the documentation excludes: outside [0, 1], infinite or NaN ("values
  between 0 and 1", in both functions). Behaviour there is recorded, not judged.
* ``contract``: the call raised although the contract is met, returned although it is violated
  (``raised``, ``did_not_raise``), or returned the wrong shape or dtype (``shape_mismatch``).
* ``convention``: the documentation is silent and the oracle takes a reading
  (docs/semantics.md §6): an infinite input, weight or pos_weight (the limit of the formula), NaN
  in an argument of a *gradient* (NaN propagates), the derivative of the -100 clamp
  (``binary_cross_entropy`` gradient wrt input where ``log x`` or ``log(1 - x)`` is clamped), or
  the dtype of a mixed-dtype result (accepted: an error, the promoted dtype, or the input's).
* ``defect``: everything else — finite, in-contract inputs, and a value or gradient beyond the
  tolerance; also a NaN argument that does not make the *value* NaN (IEEE arithmetic of the
  documented formula propagates it under any reading), and a crash or a hang.

A reduced quantity mixes elements: its tier is the most lenient of its elements' tiers, so a
sum is never a defect merely because one of its elements rests on a convention.

By default ``run`` and the gate count ``defect`` and ``contract``; ``--strict`` counts all four.
"""

from __future__ import annotations

import math

import numpy as np

TIERS = ("defect", "contract", "convention", "out_of_contract")
COUNTED_BY_DEFAULT = frozenset({"defect", "contract"})
_LENIENCY = {"defect": 0, "contract": 1, "convention": 2, "out_of_contract": 3}
_CONTRACT_VERDICTS = frozenset({"raised", "did_not_raise", "shape_mismatch", "dtype_mismatch"})
E_MINUS_100 = math.exp(-100.0)  # 3.72e-44: below it log x < -100 (float64 rounding aside)


def counted_tiers(strict: bool) -> frozenset[str]:
    """The tiers that make ``run`` exit 1 and the gate fail."""
    return frozenset(TIERS) if strict else COUNTED_BY_DEFAULT


def target_out_of_contract(y: float) -> bool:
    """A target the documentation excludes: outside [0, 1], infinite or NaN."""
    return not (0.0 <= y <= 1.0)


def _element_tier(function: str, quantity: str, x: float, y: float, w: float, p: float) -> str:
    if target_out_of_contract(y):
        return "out_of_contract"
    arguments = (x, w, p)
    if any(math.isinf(v) for v in arguments):
        return "convention"
    if any(math.isnan(v) for v in arguments):
        return "defect" if quantity == "value" else "convention"
    if function == "binary_cross_entropy" and quantity == "grad_input":
        if x <= E_MINUS_100 or x >= 1.0:
            return "convention"
    return "defect"


def _flat(case, name: str) -> np.ndarray:
    a = getattr(case, name)
    shape = case.target.shape
    n = int(np.prod(shape, dtype=np.int64))
    if a is None:
        return np.ones(n)
    try:
        return np.broadcast_to(a, shape).astype(np.float64).reshape(-1)
    except ValueError:  # a shape that does not broadcast: the violation is the shape itself
        return np.ones(n)


def tier_of(case, quantity: str, verdict: str, element: tuple[int, ...] | None) -> str:
    """The tier of a divergence of ``quantity`` with ``verdict`` at ``element`` of ``case``.

    ``element`` indexes the quantity's own array; it names one loss element only for the
    elementwise quantities (unreduced value, gradients wrt input and target, and a weight or
    pos_weight gradient of the target's own shape); otherwise every element is considered.
    """
    if case.input.shape != case.target.shape:  # nothing elementwise to look at
        return "contract"
    x, y = _flat(case, "input"), _flat(case, "target")
    w, p = _flat(case, "weight"), _flat(case, "pos_weight")
    if verdict == "dtype_mismatch" and getattr(case, "argument_dtypes", None):
        return "convention"  # mixed dtypes: the docs are silent on the result's dtype
    if verdict in _CONTRACT_VERDICTS or verdict in ("crashed", "timeout"):
        if any(target_out_of_contract(v) for v in y):
            return "out_of_contract"
        return "contract" if verdict in _CONTRACT_VERDICTS else "defect"
    indices = range(y.size)
    if element is not None and _is_elementwise(case, quantity) and y.size:
        indices = [int(np.ravel_multi_index(element, case.target.shape))] if element else [0]
    tiers = [_element_tier(case.function, quantity, x[i], y[i], w[i], p[i]) for i in indices]
    if not tiers:  # an empty reduction: nothing but the formula itself
        return "defect"
    return max(tiers, key=_LENIENCY.__getitem__)


def _is_elementwise(case, quantity: str) -> bool:
    reduced = case.effective_reduction != "none"
    if quantity == "value":
        return not reduced
    if quantity in ("grad_input", "grad_target"):
        return True
    argument = getattr(case, quantity[5:], None)
    return argument is not None and argument.shape == case.target.shape
