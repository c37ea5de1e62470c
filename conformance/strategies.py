"""Hypothesis strategies that hunt edge cases of the binary cross-entropy losses.

``cases(...)`` draws a whole Case: function, dtype, API form, reduction (or the legacy
``size_average``/``reduce`` pair), a shape from 0-d and empty up to 4-D, weight and pos_weight
shapes from every broadcast form the documentation allows (and, when ``allow_errors``, some it
forbids), and element values drawn by regime:

* probabilities: exact 0 and 1, ``1 - 2**-k``, ``2**-k``, the dtype's subnormals, values where
  ``log x`` crosses -100 (around e^-100 = 3.72e-44), uniform values in (0, 1); outside [0, 1]
  and NaN when errors are allowed;
* logits: ±0, moderate values, the tails (e^-|x| below the dtype's epsilon), the far tails (up
  to the dtype's largest finite value), ±inf, NaN;
* targets: 0, 1, soft values, values outside [0, 1] (logits), ±inf and NaN (rarely);
* weights: 1, random positive, 0, negative, huge, inf, NaN; pos_weight: 1, random, 0, huge, inf.

Simplest alternatives come first, so failing examples shrink towards small shapes and plain
values. Every element is representable in the dtype (drawn values are rounded into it).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from conformance.backends.protocol import API_FORMS, DTYPES, FUNCTIONS, REDUCTIONS
from conformance.cases import Case
from oracle.formats import format_of

PROBABILITY_REGIMES = ("uniform", "zero_one", "near_zero", "near_one", "clamp", "subnormal")
LOGIT_REGIMES = ("uniform", "zero", "tail", "far_tail", "subnormal", "inf")
E100 = math.exp(-100.0)


def _subnormals(dtype: str) -> st.SearchStrategy[float]:
    fmt = format_of(dtype)
    tiny = 2.0**fmt.quantum_min
    return st.integers(1, (1 << (fmt.precision - 1)) - 1).map(lambda k: k * tiny)


def _probability(
    dtype: str, regimes: tuple[str, ...], allow_errors: bool
) -> st.SearchStrategy[float]:
    p = format_of(dtype).precision
    options = {
        "uniform": st.floats(0.0, 1.0, allow_subnormal=False),
        "zero_one": st.sampled_from([0.0, 1.0, 0.5]),
        "near_zero": st.integers(1, 120).map(lambda k: 2.0**-k),
        "near_one": st.integers(1, p).map(lambda k: 1.0 - 2.0**-k),
        "clamp": st.floats(E100 / 8, E100 * 8),
        "subnormal": _subnormals(dtype),
    }
    alternatives = [options[r] for r in regimes if r in options]
    if allow_errors:
        alternatives.append(st.sampled_from([-0.25, 1.5, math.nan, 1.0 + 2.0 ** (1 - p)]))
    return st.one_of(alternatives)


def _logit(dtype: str, regimes: tuple[str, ...]) -> st.SearchStrategy[float]:
    fmt = format_of(dtype)
    largest = float(fmt.max_finite)
    tail_start = (fmt.precision - 1) * math.log(2)
    far_start = -fmt.emin * math.log(2)
    sign = st.sampled_from([1.0, -1.0])
    options = {
        "uniform": st.floats(-8.0, 8.0),
        "zero": st.sampled_from([0.0, -0.0]),
        "tail": st.builds(lambda s, v: s * v, sign, st.floats(tail_start, far_start * 1.2)),
        "far_tail": st.builds(lambda s, v: s * v, sign, st.floats(far_start, largest)),
        "subnormal": _subnormals(dtype),
        "inf": st.sampled_from([math.inf, -math.inf, math.nan]),
    }
    return st.one_of([options[r] for r in regimes if r in options])


def _target(function: str, allow_errors: bool, soft: bool) -> st.SearchStrategy[float]:
    alternatives = [st.sampled_from([1.0, 0.0])]
    if soft:
        alternatives.append(st.floats(0.0, 1.0))
    if function == "binary_cross_entropy_with_logits":
        alternatives.append(st.floats(-2.0, 3.0))
        alternatives.append(st.sampled_from([math.inf, -math.inf, math.nan]))
    elif allow_errors:
        alternatives.append(st.sampled_from([-0.5, 1.25, math.nan]))
    return st.one_of(alternatives)


def _weight_value(positive_only: bool = False) -> st.SearchStrategy[float]:
    alternatives = [
        st.just(1.0),
        st.floats(0.0, 4.0),
        st.just(0.0),
        st.floats(1e3, 1e30),
    ]
    if not positive_only:
        alternatives += [st.floats(-4.0, 0.0), st.sampled_from([math.inf, math.nan, -math.inf])]
    return st.one_of(alternatives)


@st.composite
def shapes(draw, max_elements: int = 24) -> tuple[int, ...]:
    rank = draw(st.integers(0, 4))
    dims = []
    for _ in range(rank):
        dims.append(draw(st.integers(1, 4)))
    if rank and draw(st.integers(0, 19)) == 0:  # now and then an empty tensor
        dims[draw(st.integers(0, rank - 1))] = 0
    while int(np.prod(dims, dtype=np.int64)) > max_elements:
        dims[dims.index(max(dims))] -= 1
    return tuple(dims)


@st.composite
def broadcast_shape(draw, target: tuple[int, ...], allow_errors: bool) -> tuple[int, ...]:
    """A shape that broadcasts to ``target`` unchanged: scalar, a suffix, 1s in some axes,
    ``[C, 1, 1]`` for a ``[B, C, H, W]`` target, or the full shape; or (errors) one that
    does not."""
    forms = ["full", "suffix", "scalar", "ones"]
    if allow_errors:
        forms.append("forbidden")
    form = draw(st.sampled_from(forms))
    if form == "full" or not target:
        return target if form != "forbidden" else target + (2,)
    if form == "scalar":
        return ()
    if form == "suffix":
        k = draw(st.integers(1, len(target)))
        return target[-k:]
    if form == "ones":
        k = draw(st.integers(1, len(target)))
        suffix = list(target[-k:])
        for i in range(len(suffix)):
            if draw(st.booleans()):
                suffix[i] = 1
        return tuple(suffix)
    # forbidden: grows the shape, or mismatches the class dimension
    if draw(st.booleans()):
        return (2,) + target
    return target[:-1] + (target[-1] + 1,)


def _array(
    draw, elements: st.SearchStrategy[float], shape: tuple[int, ...], dtype: str
) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    values = draw(st.lists(elements, min_size=n, max_size=n))
    with np.errstate(over="ignore"):
        return (
            np.array(values, dtype=np.float64).astype(format_of(dtype).numpy_dtype).reshape(shape)
        )


@st.composite
def cases(
    draw,
    functions: tuple[str, ...] = FUNCTIONS,
    dtypes: tuple[str, ...] = DTYPES,
    reductions: tuple[str, ...] = REDUCTIONS,
    apis: tuple[str, ...] = API_FORMS,
    regimes: tuple[str, ...] | None = None,
    allow_errors: bool = True,
    legacy: bool = True,
    max_elements: int = 24,
) -> Case:
    """A whole conformance case (see the module docstring)."""
    function = draw(st.sampled_from(functions))
    dtype = draw(st.sampled_from(dtypes))
    api = draw(st.sampled_from(apis))
    reduction = draw(st.sampled_from(reductions))
    legacy_pair = None
    if legacy and draw(st.integers(0, 9)) == 0:
        legacy_pair = draw(
            st.sampled_from([(None, False), (False, None), (True, True), (False, True)])
        )
    shape = draw(shapes(max_elements))
    if function == "binary_cross_entropy":
        x_elements = _probability(dtype, regimes or PROBABILITY_REGIMES, allow_errors)
    else:
        x_elements = _logit(dtype, regimes or LOGIT_REGIMES)
    x = _array(draw, x_elements, shape, dtype)
    y = _array(draw, _target(function, allow_errors, soft=True), shape, dtype)
    if allow_errors and draw(st.integers(0, 29)) == 0:
        y = y.reshape(-1)[: max(y.size - 1, 0)] if y.ndim else y.reshape(1)  # shape mismatch
    weight = pos_weight = None
    if draw(st.booleans()):
        w_shape = draw(broadcast_shape(shape, allow_errors and draw(st.integers(0, 9)) == 0))
        weight = _array(draw, _weight_value(), w_shape, dtype)
    if function == "binary_cross_entropy_with_logits" and draw(st.booleans()):
        p_shape = draw(broadcast_shape(shape, allow_errors and draw(st.integers(0, 9)) == 0))
        pos_weight = _array(
            draw, _weight_value(positive_only=True) | st.just(math.inf), p_shape, dtype
        )
    return Case(
        function=function,
        dtype=dtype,
        input=x,
        target=y,
        weight=weight,
        pos_weight=pos_weight,
        reduction=reduction,
        api=api,
        legacy=legacy_pair,
    )
