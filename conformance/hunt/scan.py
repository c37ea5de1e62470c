"""The error scan for the plots: a grid dense where implementations break, judged point by point.

The grid of one (function, dtype), every point representable in the dtype and each once:

* ``binary_cross_entropy_with_logits``: inputs x = 0 and ±|x| for |x| from 10^-3 to 10^2 at
  LOGIT_PER_DECADE points a decade (where the accuracy findings live: cancellation in
  (1 - y)x + log(1 + e^-x), overflow of e^-x), and the tails from 10^2 to 10^4 at
  TAIL_PER_DECADE; targets y in {0, 0.1, 0.5, 0.9, 1} and y = sigmoid(x) rounded to the dtype
  (where the gradient sigmoid(x) - y cancels).
* ``binary_cross_entropy``: probabilities x = 0, 1, the smallest subnormal, x from
  max(10^-45, smallest subnormal) to 10^-1 at LOW_PER_DECADE (the clamp of log at -100 starts
  below e^-100 ~ 3.7e-44), the middle 0.1, 0.15, ..., 0.9, and x = 1 - 10^-k near 1 at
  NEAR_ONE_PER_DECADE down to the dtype's resolution, with the last few numbers below 1;
  targets y in {0, 0.25, 0.5, 0.75, 1} and y = x (where the gradient (x - y)/(x(1 - x)) cancels).

A backend is called once on the whole grid (reduction ``none``) for the value and every gradient
it offers of input and target, and once more with weights of ones for the gradients it offers of
weight and pos_weight. Each quantity becomes one ScanSeries (conformance.records). Every element
is judged by the comparison's own rules (conformance.judge.comparison.element_verdicts).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from conformance.backends.protocol import Backend, Call, Outcome
from conformance.cases import Case
from conformance.hunt import values as V
from conformance.judge.comparison import element_verdicts
from conformance.judge.evaluate import offered_gradients
from conformance.judge.expectation import expect
from conformance.judge.tolerances import tolerance
from conformance.records import ScanSeries
from oracle.formats import format_of

Runner = Callable[[Call], Outcome]

LOGIT_PER_DECADE = 16  # |x| in [1e-3, 1e2]
TAIL_PER_DECADE = 4  # |x| in [1e2, 1e4]
LOGIT_TARGETS = (0.0, 0.1, 0.5, 0.9, 1.0)
LOW_PER_DECADE = 3  # binary_cross_entropy: x in [1e-45, 1e-1]
NEAR_ONE_PER_DECADE = 6  # 1 - x in [resolution, 1e-1]
PROBABILITY_TARGETS = (0.0, 0.25, 0.5, 0.75, 1.0)
ULPS_BELOW_ONE = 4  # the numbers just below 1


def _decades(lo: float, hi: float, per_decade: int) -> np.ndarray:
    """Log-spaced points from 10^lo to 10^hi, ``per_decade`` a decade, both ends included."""
    return np.logspace(lo, hi, int(round((hi - lo) * per_decade)) + 1)


def logit_inputs(dtype: str) -> np.ndarray:
    """The scan's logits x of ``dtype`` (float64 values), sorted and distinct."""
    magnitudes = np.concatenate(
        [_decades(-3, 2, LOGIT_PER_DECADE), _decades(2, 4, TAIL_PER_DECADE)]
    )
    return _representable(np.concatenate([-magnitudes, [0.0], magnitudes]), dtype)


def probability_inputs(dtype: str) -> np.ndarray:
    """The scan's probabilities x of ``dtype`` (float64 values), sorted and distinct."""
    fmt = format_of(dtype)
    smallest = float(fmt.min_subnormal)
    low = _decades(max(-45.0, math.log10(smallest)), -1, LOW_PER_DECADE)
    resolution = fmt.precision * math.log10(2)  # 1 - 10^-resolution is the last below 1
    near_one = 1 - _decades(-resolution, -1, NEAR_ONE_PER_DECADE)
    below_one = 1 - np.ldexp(1.0, -fmt.precision) * np.arange(1, ULPS_BELOW_ONE + 1)
    middle = np.linspace(0.1, 0.9, 17)
    xs = np.concatenate([[0.0, smallest, 1.0], low, middle, near_one, below_one])
    return _representable(xs, dtype)


def _representable(values: np.ndarray, dtype: str) -> np.ndarray:
    """``values`` rounded to ``dtype``, finite ones only, sorted and distinct (as float64)."""
    with np.errstate(over="ignore"):
        rounded = values.astype(format_of(dtype).numpy_dtype).astype(np.float64)
    return np.unique(rounded[np.isfinite(rounded)])


def scan_grid(function: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of the scan in ``dtype``: every (x, y) pair once, sorted by x then y."""
    dt = format_of(dtype).numpy_dtype
    if function == "binary_cross_entropy":
        xs = probability_inputs(dtype)
        fixed, own = PROBABILITY_TARGETS, xs  # y = x
    else:
        xs = logit_inputs(dtype)
        fixed = LOGIT_TARGETS
        with np.errstate(over="ignore"):
            own = 1.0 / (1.0 + V.libm_exp(-xs))  # y = sigmoid(x), the same on every CPU
    pairs = [np.stack([xs, np.full_like(xs, y)], axis=1) for y in fixed]
    pairs.append(np.stack([xs, own.astype(dt).astype(np.float64)], axis=1))
    grid = np.unique(np.concatenate(pairs), axis=0)  # sorted by x, then y
    return grid[:, 0].astype(dt), grid[:, 1].astype(dt)


def _shortest(values: np.ndarray) -> list[float]:
    """The shortest decimals that read back to ``values`` in their own dtype."""
    return [float(str(v)) for v in values]


def _special(values: np.ndarray) -> list[str]:
    return ["" if math.isfinite(v) else "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
            for v in values.astype(np.float64).tolist()]  # fmt: skip


def relative_errors(rounded: np.ndarray, got: np.ndarray) -> list[float | None]:
    """|got - r| / |r| per element, to three significant digits: 0 where got is r, inf where
    r is 0 and got is not, None where either is not a finite number."""
    r = rounded.astype(np.float64)
    g = got.astype(np.float64)
    out: list[float | None] = []
    with np.errstate(all="ignore"):
        rel = np.abs(g - r) / np.abs(r)
    for ri, gi, e in zip(r.tolist(), g.tolist(), rel.tolist()):
        if not (math.isfinite(ri) and math.isfinite(gi)):
            out.append(None)
        elif gi == ri:
            out.append(0.0)
        elif ri == 0:
            out.append(math.inf)
        else:
            out.append(float(f"{e:.3g}"))
    return out


def _series(case: Case, quantity: str, rounded: np.ndarray, got: np.ndarray, backend: Backend,
            x: list[float], y: list[float]) -> ScanSeries:  # fmt: skip
    tol = tolerance(case.function, case.dtype, backend.name, quantity)
    if got.shape != rounded.shape or got.dtype != rounded.dtype:
        return ScanSeries(case.function, case.dtype, quantity,
                          note=f"result of {got.dtype}{list(got.shape)}, expected "
                          f"{rounded.dtype}{list(rounded.shape)}")  # fmt: skip
    verdicts, ulps = element_verdicts(rounded.reshape(-1), got.reshape(-1), tol)
    return ScanSeries(
        case.function,
        case.dtype,
        quantity,
        x=x,
        y=y,
        verdict=[str(v) for v in verdicts],
        ulp=[u if math.isfinite(u) else None for u in ulps.tolist()],
        relative_error=relative_errors(rounded, got),
        got_special=_special(got),
        expected_special=_special(rounded),
    )


def _note(quantities: tuple[str, ...], case: Case, text: str) -> list[ScanSeries]:
    return [ScanSeries(case.function, case.dtype, q, note=text) for q in quantities]


def _judge(backend: Backend, run: Runner, case: Case, grads: tuple[str, ...],
           with_value: bool) -> list[ScanSeries]:  # fmt: skip
    """The series of one call: the value (if ``with_value``) and the gradients ``grads``."""
    quantities = (("value",) if with_value else ()) + tuple(f"grad_{g}" for g in grads)
    exp = expect(case, grads)
    if exp.raises or exp.unsupported_point:
        return _note(quantities, case, f"the oracle: {exp.error or exp.unsupported_point}")
    outcome = run(case.to_call(grad_wrt=grads))
    if outcome.status == "raised" and len(quantities) > 1:  # each quantity alone
        out = _judge(backend, run, case, (), True) if with_value else []
        for g in grads:
            out += _judge(backend, run, case, (g,), False)
        return out
    if outcome.status != "ok":
        return _note(quantities, case, f"{outcome.status}: {outcome.error or ''}".strip(": "))
    x, y = _shortest(case.input), _shortest(case.target)
    out = []
    if with_value:
        got = np.asarray(outcome.value)
        out.append(_series(case, "value", exp.quantities["value"].rounded, got, backend, x, y))
    for g in grads:
        q = f"grad_{g}"
        if g not in outcome.gradients:
            out += _note((q,), case, "no gradient returned")
            continue
        got = np.asarray(outcome.gradients[g])
        out.append(_series(case, q, exp.quantities[q].rounded, got, backend, x, y))
    return out


def scan(backend: Backend, run: Runner, function: str, dtype: str) -> list[ScanSeries]:
    """The error scan of one (function, dtype): one series per quantity the backend offers."""
    x, y = scan_grid(function, dtype)
    case = Case(function=function, dtype=dtype, input=x, target=y, reduction="none")
    series = _judge(backend, run, case, offered_gradients(backend, case), True)
    ones = np.ones_like(x)
    weighted = case.with_(
        weight=ones, pos_weight=ones if function == "binary_cross_entropy_with_logits" else None
    )
    weight_grads = tuple(
        g for g in offered_gradients(backend, weighted) if g not in ("input", "target")
    )
    if weight_grads:
        series += _judge(backend, run, weighted, weight_grads, False)
    return series
