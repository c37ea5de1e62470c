"""Evaluate one case on one backend and judge every quantity against the oracle.

A quantity's verdict is grouped into a *divergence class* by
``function/api/dtype/quantity/verdict/regime`` (conformance.regimes): the unit that reports list
and baselines explain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from conformance.backends.protocol import Backend, Call, Outcome
from conformance.cases import Case
from conformance.judge.comparison import Comparison, compare
from conformance.judge.expectation import (
    Expectation,
    expect,
    gradient_arguments,
    violates_contract,
)
from conformance.judge.tolerances import tolerance
from conformance.regimes import case_element_regime, special_values
from oracle.formats import format_of

Runner = Callable[[Call], Outcome]

_DESCRIPTIONS = {
    "value_mismatch": "differs from the correctly rounded value by more than the tolerance",
    "nan_mismatch": "NaN against a number (or a number where NaN is due)",
    "inf_mismatch": "infinity against a finite value (or the wrong infinity)",
    "shape_mismatch": "result of the wrong shape",
    "dtype_mismatch": "result of the wrong dtype",
    "raised": "raises although the documented contract is met",
    "did_not_raise": "returns a value although the documented contract is violated",
    "crashed": "the backend crashed",
    "timeout": "the backend did not answer in time",
    "unsupported": "not offered by the backend",
}


@dataclass
class QuantityResult:
    quantity: str
    verdict: str
    regime: str
    comparison: Comparison | None = None
    error: str = ""  # the backend's exception, or the oracle's domain error
    error_due: bool = False  # the documented contract is violated: an error is expected

    def class_id(self, case: Case) -> str:
        """``function/dtype/quantity/verdict/regime``: the API form (functional or module) is
        not part of it; the examples of a class record which form they used."""
        return f"{case.function}/{case.dtype}/{self.quantity}/{self.verdict}/{self.regime}"

    def description(self, case: Case) -> str:
        what = "loss" if self.quantity == "value" else f"gradient wrt {self.quantity[5:]}"
        return f"{case.function} {case.dtype} {what} {_DESCRIPTIONS[self.verdict]}; {self.regime}"


def _error_regime(text: str) -> str:
    """'OracleDomainError: input: ...' -> 'error:OracleDomainError:input'."""
    kind, _, message = text.partition(": ")
    argument = message.split(":", 1)[0].split(" ", 1)[0] if message else ""
    return f"error:{kind}:{argument}"


def _exception_regime(text: str) -> str:
    return "exception:" + (text.partition(":")[0] or "unknown")


def _special_regime(case: Case, cmp: Comparison, reduced: bool) -> str | None:
    """NaN and infinity divergences are classed by the special arguments of the element alone,
    e.g. ``x=+inf,w=inf``, or as ``reduced:special-values`` for a reduced quantity with any;
    None if there are none."""
    if cmp.verdict not in ("nan_mismatch", "inf_mismatch"):
        return None
    specials = special_values(case, None if reduced else (cmp.element or ()))
    if not specials:
        return None
    # A reduced quantity mixes many elements: one class, whose causes the elementwise classes name.
    return "reduced:special-values" if reduced else specials


def _value_regime(case: Case, exp: Expectation, cmp: Comparison) -> str:
    weights = cmp.verdict != "value_mismatch"
    reduced = case.effective_reduction != "none"
    special = _special_regime(case, cmp, reduced)
    if special is not None:
        return special
    if not reduced:
        return case_element_regime(case, cmp.element or (), weights)
    if case.recipe is not None:
        return f"reduction={case.effective_reduction},large:{case.recipe['kind']}"
    magnitudes = exp.quantities["value"].magnitudes  # regime of the term of largest magnitude
    if magnitudes is None or magnitudes.size == 0:
        return f"reduction={case.effective_reduction},empty"
    flat = magnitudes.reshape(-1)
    dominant = int(np.nanargmax(np.where(np.isnan(flat), np.inf, flat)))
    shape = case.target.shape
    index = np.unravel_index(dominant, shape) if shape else ()
    return f"reduction={case.effective_reduction}," + case_element_regime(
        case, tuple(index), weights
    )


def _gradient_regime(case: Case, quantity: str, cmp: Comparison) -> str:
    argument = quantity[5:]
    weights = cmp.verdict != "value_mismatch"
    broadcast = (
        argument in ("weight", "pos_weight") and getattr(case, argument).shape != case.target.shape
    )
    special = _special_regime(case, cmp, broadcast)
    if special is not None:
        return special
    if broadcast:
        return f"sum-over-broadcast({argument})"
    if case.recipe is not None:
        return f"large:{case.recipe['kind']}," + case_element_regime(
            case, cmp.element or (), weights
        )
    return case_element_regime(case, cmp.element or (), weights)


def offered_gradients(backend: Backend, case: Case) -> tuple[str, ...]:
    """The gradients of ``case`` that ``backend`` offers: those every verdict is judged on."""
    return tuple(g for g in gradient_arguments(case) if g in backend.gradients)


def submit(run: Runner, call: Call) -> Callable[[], Outcome]:
    """Start ``call`` on ``run`` and return a function that waits for its Outcome: the runner's
    own ``submit`` when it has one (it computes meanwhile), else the call made when waited for."""
    start = getattr(run, "submit", None)
    if start is not None:
        return start(call)
    return lambda: run(call)


def evaluate_case(
    backend: Backend, case: Case, runner: Runner | None = None
) -> list[QuantityResult] | None:
    """Verdicts for the value and every gradient the backend offers; None if the oracle
    does not decide the point (docs/semantics.md)."""
    run = runner or backend.evaluate
    grads = offered_gradients(backend, case)
    # The backend computes while the oracle does: the call goes out first (a runner with
    # ``submit``, e.g. the isolated worker), its gradients chosen by the contract check alone
    # (a large case is in the domain by construction: not checked twice over 10^7 elements).
    violated = case.recipe is None and violates_contract(case)
    pending = submit(run, case.to_call(grad_wrt=() if violated else grads))
    try:
        exp = expect(case, grads)
    finally:
        outcome = pending()  # collected even when the oracle raises: the runner stays in step
    if exp.raises and not violated and grads:  # an error met only past the checks
        outcome = run(case.to_call())
    if exp.unsupported_point is not None:
        return None
    if outcome.status in ("unsupported", "crashed", "timeout"):
        return [QuantityResult("value", outcome.status, "-", error=outcome.error or "")]
    if case.argument_dtypes and outcome.status == "raised" and not exp.raises:
        # Mixed dtypes: the documentation is silent; a clear error is an accepted reading.
        return [
            QuantityResult(
                "value", "conforms", _mixed_regime(case), error=outcome.error or "", error_due=True
            )
        ]
    if exp.raises:
        if outcome.status == "raised":
            return [
                QuantityResult(
                    "value",
                    "conforms",
                    _error_regime(exp.error),
                    error=outcome.error or "",
                    error_due=True,
                )
            ]
        returned = "returned " + _describe_value(outcome.value)
        return [
            QuantityResult(
                "value",
                "did_not_raise",
                _error_regime(exp.error),
                error=returned,
                error_due=True,
            )
        ]
    if outcome.status == "raised" and grads:
        # Separate a failing gradient from the value: value alone, then each gradient alone.
        results = _judge_value(backend, case, exp, run(case.to_call()))
        for g in grads:
            results += _judge_gradients(backend, case, exp, run(case.to_call(grad_wrt=(g,))), (g,))
        return results
    return _judge_value(backend, case, exp, outcome) + _judge_gradients(
        backend, case, exp, outcome, grads
    )


def _judge_value(
    backend: Backend, case: Case, exp: Expectation, outcome: Outcome
) -> list[QuantityResult]:
    if outcome.status != "ok":
        return [
            QuantityResult(
                "value",
                _status_verdict(outcome),
                _exception_regime(outcome.error or ""),
                error=outcome.error or "",
            )
        ]
    want = exp.quantities["value"]
    got = np.asarray(outcome.value) if outcome.value is not None else np.array([])
    expected, dtype = _accepted(want, got, case.dtype)
    tol = tolerance(case.function, dtype, backend.name, "value")
    cmp = compare(expected, lambda want=want: want.exact, got, tol, want.abs_terms, want.n_terms)
    regime = (
        _with_mixed(case, _value_regime(case, exp, cmp))
        if cmp.verdict not in ("shape_mismatch", "dtype_mismatch")
        else _mixed_regime(case)
    )
    return [QuantityResult("value", cmp.verdict, regime, cmp)]


def _judge_gradients(
    backend: Backend, case: Case, exp: Expectation, outcome: Outcome, grads: tuple[str, ...]
) -> list[QuantityResult]:
    results = []
    for g in grads:
        quantity = f"grad_{g}"
        if outcome.status != "ok":
            results.append(
                QuantityResult(
                    quantity,
                    _status_verdict(outcome),
                    _exception_regime(outcome.error or ""),
                    error=outcome.error or "",
                )
            )
            continue
        if g not in outcome.gradients:
            results.append(
                QuantityResult(quantity, "shape_mismatch", "-", error="no gradient returned")
            )
            continue
        want = exp.quantities[quantity]
        got = np.asarray(outcome.gradients[g])
        expected, dtype = _accepted(want, got, case.dtype)
        tol = tolerance(case.function, dtype, backend.name, quantity)
        cmp = compare(
            expected, lambda want=want: want.exact, got, tol, want.abs_terms, want.n_terms
        )
        regime = (
            _with_mixed(case, _gradient_regime(case, quantity, cmp))
            if cmp.verdict not in ("shape_mismatch", "dtype_mismatch")
            else _mixed_regime(case)
        )
        results.append(QuantityResult(quantity, cmp.verdict, regime, cmp))
    return results


def _mixed_regime(case: Case) -> str:
    """``mixed-dtypes:target=float16`` for a mixed-dtype case, else ``-``."""
    if not case.argument_dtypes:
        return "-"
    return "mixed-dtypes:" + ",".join(f"{k}={v}" for k, v in sorted(case.argument_dtypes.items()))


def _with_mixed(case: Case, regime: str) -> str:
    """A mixed-dtype case's value regime ends with ``mixed-dtypes`` (``x:mid,y:soft,mixed-dtypes``),
    so that its divergences are classes of their own, apart from same-dtype ones. Which argument
    has which dtype is in the example (and its reproducer), not in the class: one class per
    (function, dtype, quantity, verdict, value regime) keeps the mixed-dtype findings as few
    classes as the same-dtype ones instead of one per combination of argument dtypes. A
    dtype_mismatch keeps the full ``_mixed_regime``: there the combination is the finding."""
    return f"{regime},mixed-dtypes" if case.argument_dtypes else regime


def _accepted(want, got: np.ndarray, dtype: str) -> tuple[np.ndarray, str]:
    """The expected array in the dtype the backend returned when that dtype is accepted (mixed
    dtypes), else the default expectation; and the dtype name that judges it."""
    if want.alternatives:
        try:
            name = format_of(got.dtype).name
        except Exception:
            name = ""
        if name in want.alternatives:
            return want.alternatives[name], name
    try:
        return want.rounded, format_of(want.rounded.dtype).name
    except Exception:
        return want.rounded, dtype


def _describe_value(value) -> str:
    """What a backend returned, in one short line (for did_not_raise)."""
    if value is None:
        return "nothing"
    a = np.asarray(value)
    if a.size <= 4:
        return f"{a.dtype}{list(a.shape)} {a.astype(np.float64).reshape(-1).tolist()}"
    return f"{a.dtype}{list(a.shape)} array"


def _status_verdict(outcome: Outcome) -> str:
    return {
        "raised": "raised",
        "unsupported": "unsupported",
        "crashed": "crashed",
        "timeout": "timeout",
    }.get(outcome.status, "crashed")
