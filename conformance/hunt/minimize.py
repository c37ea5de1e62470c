"""Minimal means minimal: reduce a divergent case to the single element that still diverges.

For an elementwise divergence (unreduced value, gradient wrt input or target, or a weight of the
target's shape) the candidate is the divergent element alone. For a reduced value, or a gradient
summed over broadcast axes, the candidates are the elements with the largest terms, largest
first (at most ``MAX_TRIES``). A candidate keeps the function, dtype, API form and reduction of
the case, the element's input, target, weight and pos_weight (broadcast values taken at that
element), and its upstream gradient; a 0-d case stays 0-d, anything else becomes shape ``(1,)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from conformance.cases import Case

MAX_TRIES = 8


def single_element(case: Case, flat_index: int) -> Case:
    """The case restricted to element ``flat_index`` of its target."""
    shape = case.target.shape
    out_shape = () if shape == () else (1,)

    def take(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        return (
            np.broadcast_to(a, shape)
            .reshape(-1)[flat_index : flat_index + 1]
            .reshape(out_shape)
            .copy()
        )

    go = case.grad_output
    if go is not None and case.effective_reduction == "none":
        go = take(go)
    return Case(
        function=case.function,
        dtype=case.dtype,
        input=take(case.input),
        target=take(case.target),
        weight=take(case.weight),
        pos_weight=take(case.pos_weight),
        reduction=case.reduction,
        api=case.api,
        legacy=case.legacy,
        grad_output=go,
        layout=case.layout,
        argument_dtypes=case.argument_dtypes,
    )


def candidates(
    case: Case, quantity: str, element: tuple[int, ...] | None, magnitudes: np.ndarray | None
) -> Iterator[Case]:
    """Single-element cases to try, most promising first."""
    shape = case.target.shape
    if case.target.size <= 1 and case.recipe is None:
        return
    elementwise = quantity in ("grad_input", "grad_target") or (
        quantity == "value" and case.effective_reduction == "none"
    )
    argument = getattr(case, quantity[5:], None) if quantity.startswith("grad_") else None
    if argument is not None and argument.shape == shape:
        elementwise = True
    if elementwise and element is not None and len(element) == len(shape):
        yield single_element(case, int(np.ravel_multi_index(element, shape)) if shape else 0)
        return
    if magnitudes is None or magnitudes.size != case.target.size:
        return
    order = np.argsort(-np.nan_to_num(magnitudes.reshape(-1), nan=np.inf), kind="stable")
    for i in order[:MAX_TRIES]:
        yield single_element(case, int(i))
