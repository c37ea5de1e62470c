"""The audit: hunt divergences of one backend, purpose by purpose, and turn them into records.

For each (function, dtype), the profile's cases of every purpose (conformance.hunt.purposes:
value, edge, layout, mixed, contract, special, out_of_contract, large, sweep) are judged against the oracle. Every
quantity's verdict is counted, every comparison is entered in the coverage table, and every
divergence is filed under its class with its tier (conformance.findings.tiers), keeping the worst
example. With ``minimize``, the first example of each class is reduced to the single element that
still diverges (conformance.hunt.minimize); whatever the reduction meets on the way is filed under
its own class, so nothing found is lost. The same seed gives the same cases and verdicts.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from conformance.backends.protocol import Backend, Call, Outcome
from conformance.cases import Case
from conformance.findings.tiers import tier_of
from conformance.hunt import purposes as P
from conformance.hunt.coverage import Coverage
from conformance.hunt.large import KINDS, large_case, recipe_reproducer
from conformance.hunt.minimize import candidates
from conformance.hunt.profiles import Profile
from conformance.hunt.progress import ProgressBar
from conformance.hunt.scan import scan as scan_errors
from conformance.hunt.structures import Accepts
from conformance.hunt.sweep_worst import sweep_cases
from conformance.judge.evaluate import QuantityResult, evaluate_case, offered_gradients
from conformance.judge.expectation import expect, gradient_arguments
from conformance.records import (
    DIVERGENT,
    BackendRun,
    DivergenceClass,
    Example,
    PurposeCount,
    ScanSeries,
    VerdictCount,
)
from conformance.report.reproducer import reproducer

Runner = Callable[[Call], Outcome]
Progress = Callable[[str], None]
_COMPARED = frozenset({"conforms", "value_mismatch", "nan_mismatch", "inf_mismatch", "raised",
                       "shape_mismatch", "dtype_mismatch"})  # fmt: skip


@dataclass
class _ClassAccumulator:
    function: str
    dtype: str
    result: QuantityResult
    description: str
    tier: str
    purpose: str
    count: int = 0
    worst: tuple[float, Case, QuantityResult] | None = None
    first: tuple[Case, QuantityResult] | None = None
    minimal: tuple[Case, QuantityResult] | None = None
    found_in: tuple[Case, QuantityResult] | None = None

    def add(self, case: Case, result: QuantityResult) -> None:
        self.count += 1
        if self.first is None:
            self.first = (case, result)
        ulp = (
            result.comparison.ulp
            if result.comparison and result.comparison.ulp is not None
            else -1.0
        )
        score = ulp if not math.isnan(ulp) else -1.0
        if self.worst is None or score > self.worst[0]:
            self.worst = (score, case, result)


@dataclass
class _Tally:
    counts: dict[tuple[str, str, str, str], list] = field(default_factory=dict)
    classes: dict[str, _ClassAccumulator] = field(default_factory=dict)
    cases: int = 0

    def add(self, case: Case, results: list[QuantityResult], purpose: str) -> list[str]:
        """Count the verdicts; return the ids of classes seen for the first time."""
        self.cases += 1
        new = []
        for r in results:
            key = (case.function, case.dtype, r.quantity, r.verdict)
            entry = self.counts.setdefault(key, [0, None])
            entry[0] += 1
            if (
                r.comparison is not None
                and r.comparison.max_ulp is not None
                and math.isfinite(r.comparison.max_ulp)
            ):
                entry[1] = max(entry[1] or 0.0, r.comparison.max_ulp)
            if r.verdict in DIVERGENT:
                cid = r.class_id(case)
                acc = self.classes.get(cid)
                if acc is None:
                    element = r.comparison.element if r.comparison is not None else None
                    tier = tier_of(case, r.quantity, r.verdict, element)
                    acc = self.classes[cid] = _ClassAccumulator(
                        case.function, case.dtype, r, r.description(case), tier, purpose
                    )
                    new.append(cid)
                acc.add(case, r)
        return new


def purpose_cases(
    profile: Profile,
    function: str,
    dtype: str,
    seed: int,
    purpose: str,
    scale: int = 1,
    accepts: Accepts | None = None,
) -> Iterable[Case]:
    """The cases of one purpose for one (function, dtype), in order (``scale``: Profile.budget;
    ``accepts``: the structures a backend without some weight argument is hunted on)."""
    budget = profile.budget(function, purpose, scale)
    if purpose == "value":
        return P.value_cases(function, dtype, seed, budget, accepts)
    if purpose == "edge":
        return P.edge_cases(function, dtype, seed, accepts) if profile.edge else ()
    if purpose == "layout":
        return P.layout_cases(function, dtype, seed, budget, accepts)
    if purpose == "mixed":
        return P.mixed_cases(function, dtype, seed, budget, accepts)
    if purpose == "contract":
        return P.contract_cases(function, dtype, seed, budget, accepts)
    if purpose == "special":
        return P.special_cases(function, dtype, seed, budget, accepts)
    if purpose == "out_of_contract":
        return P.out_of_contract_cases(function, dtype, seed, budget, accepts)
    if purpose == "large":
        return _large_cases(profile, function, dtype, seed, accepts)
    if purpose == "sweep":
        return sweep_cases(function, dtype)
    raise ValueError(f"unknown purpose {purpose!r}")


def _planned(profile: Profile, function: str, dtype: str, purpose: str, scale: int) -> int:
    """How many cases ``purpose`` will generate at most (for the progress bar's total)."""
    if purpose == "edge":
        return sum(1 for _ in P.edge_cases(function, dtype, 0)) if profile.edge else 0
    if purpose == "sweep":
        return sum(1 for _ in sweep_cases(function, dtype))
    return profile.budget(function, purpose, scale)


def _large_cases(
    profile: Profile, function: str, dtype: str, seed: int, accepts: Accepts | None = None
) -> Iterable[Case]:
    weights = ("none", "scalar", "full")
    if accepts is not None and not accepts.weight_argument("weight"):
        weights = ("none",)
    k = 0
    for n in profile.large_sizes:
        for kind in KINDS:
            for reduction in ("mean", "sum"):
                yield large_case(
                    function, dtype, kind, n, seed, reduction, weights[k % len(weights)]
                )
                k += 1


def _finite_or_none(v: float | None) -> float | None:
    """JSON has no inf or NaN: a distance that is not finite is recorded as None."""
    return v if v is not None and math.isfinite(v) else None


def _example(case: Case, result: QuantityResult, backend: Backend, spec: str | None) -> Example:
    cmp = result.comparison
    # The expectation the judge used (same gradients: the memoised one, not a new oracle call).
    exp = expect(case, offered_gradients(backend, case))
    expected, exact = result.error, ""
    if (
        cmp is not None
        and exp.quantities.get(result.quantity) is not None
        and cmp.element is not None
    ):
        q = exp.quantities[result.quantity]
        expected = cmp.expected
        exact = q.exact[cmp.element].decimal(30) if q.exact.shape or cmp.element == () else ""
    elif cmp is not None and cmp.verdict in ("shape_mismatch", "dtype_mismatch"):
        expected = cmp.expected
    elif exp.error:
        expected = exp.error
    return Example(
        case=case.to_json(),
        quantity=result.quantity,
        element=list(cmp.element) if cmp is not None and cmp.element is not None else None,
        expected=expected or "",
        expected_exact=exact,
        got=(cmp.got if cmp is not None else result.error) or "",
        ulp=_finite_or_none(cmp.ulp if cmp is not None else None),
        condition_error=_finite_or_none(cmp.condition_error if cmp is not None else None),
        reproducer=recipe_reproducer(case, spec or backend.name)
        if case.recipe is not None
        else reproducer(
            case,
            result.quantity,
            backend.name,
            backend.device,
            spec,
            element=cmp.element if cmp is not None else None,
            expected=cmp.expected if cmp is not None else None,
            exact=exact or None,
            expect_error=exp.error if result.verdict == "did_not_raise" else None,
        ),
    )


def audit_backend(
    backend: Backend,
    profile: Profile,
    seed: int = 0,
    functions: tuple[str, ...] = ("binary_cross_entropy", "binary_cross_entropy_with_logits"),
    dtypes: tuple[str, ...] = ("float64", "float32", "float16", "bfloat16"),
    runner: Runner | None = None,
    progress: Progress | None = None,
    spec: str | None = None,
    purposes: tuple[str, ...] = P.PURPOSES,
    progress_bar: bool = False,
) -> BackendRun:
    """Hunt one backend purpose by purpose; the BackendRun holds every record of it
    (``progress_bar``: a bar with an ETA on stderr, conformance.hunt.progress)."""
    run = runner or backend.evaluate
    started = time.monotonic()
    tally = _Tally()
    coverage = Coverage()
    purpose_counts: list[PurposeCount] = []
    say = progress or (lambda _msg: None)
    judged: dict[bytes, list[QuantityResult] | None] = {}

    def judge(case: Case) -> list[QuantityResult] | None:
        """evaluate_case, memoised (minimization may meet a case twice)."""
        if case.recipe is not None:
            return evaluate_case(backend, case, run)
        key = case.key()
        if key not in judged:
            if len(judged) > 20000:
                judged.clear()
            judged[key] = evaluate_case(backend, case, run)
        return judged[key]

    def visit(case: Case, purpose: str) -> tuple[bool, bool]:
        """Judge and file one case; (compared, declined)."""
        results = judge(case)
        if results is None:  # the oracle does not decide this point (docs/semantics.md)
            return False, False
        if all(r.verdict == "unsupported" for r in results):
            coverage.decline(case, ("value", *_grads(case)), results[0].error)
            return False, True
        offered = set(backend.gradients)
        for g in _grads(case):
            if g[5:] not in offered:
                coverage.decline(
                    case, (g,), f"{backend.name} offers no gradient with respect to {g[5:]}"
                )
        compared = False
        for r in results:
            if r.error_due:
                coverage.contract(case)
                compared = True
            elif r.verdict in _COMPARED:
                coverage.compared(case, r.quantity)
                compared = True
        for cid in tally.add(case, results, purpose):
            if profile.minimize:
                _minimize(cid, case, results, purpose)
        return compared, False

    def _minimize(cid: str, case: Case, results: list[QuantityResult], purpose: str) -> None:
        r = next(r for r in results if r.verdict in DIVERGENT and r.class_id(case) == cid)
        element = r.comparison.element if r.comparison is not None else None
        magnitudes = None
        if case.recipe is None and case.target.size > 1:
            value = expect(case).quantities.get("value")
            if value is not None and value.magnitudes is not None:
                magnitudes = value.magnitudes
        for small in candidates(case, r.quantity, element, magnitudes):
            small_results = judge(small)
            if small_results is None:
                continue
            # Everything the reduction meets is filed, under its own class.
            tally.add(small, small_results, purpose)
            match = [
                x for x in small_results if x.verdict in DIVERGENT and x.class_id(small) == cid
            ]
            if match:
                acc = tally.classes[cid]
                acc.minimal, acc.found_in = (small, match[0]), (case, r)
                return

    supported = [d for d in dtypes if d in getattr(backend, "dtypes", dtypes)]
    accepts = Accepts.of(backend)
    if accepts is not None:  # cells of the weights the backend lacks: untested, with the reason
        coverage.declare_missing_weights(functions, dtypes, accepts.weights, backend.name)
    scale = profile.scale(len(dtypes), len(supported))
    bar = None
    if progress_bar:
        planned = sum(
            _planned(profile, function, dtype, purpose, scale if dtype in supported else 1)
            for function in functions
            for dtype in dtypes
            for purpose in purposes
        )
        bar = ProgressBar(planned, backend.name, "cases")
    for function in functions:
        for dtype in dtypes:
            for purpose in purposes:
                label = f"{backend.name}: {function} {dtype} {purpose}"
                generated = compared = declined = 0
                cell_scale = scale if dtype in supported else 1
                cases = purpose_cases(profile, function, dtype, seed, purpose, cell_scale, accepts)
                for case in cases:
                    generated += 1
                    if bar is not None:
                        bar.advance()
                    was_compared, was_declined = visit(case, purpose)
                    compared += was_compared
                    declined += was_declined
                    if generated % 25 == 0 and sys.stderr.isatty():
                        say(f"{label} {generated}")
                say(f"{label}: {compared} compared")
                purpose_counts.append(
                    PurposeCount(
                        function,
                        dtype,
                        purpose,
                        generated,
                        compared,
                        declined,
                        profile.floor(function, purpose),
                    )
                )

    if bar is not None:
        bar.advance(bar.total - bar.done)  # a mutation that yields no case shortens a purpose
        bar.close()
    scans: list[ScanSeries] = []
    if profile.scan:
        for function in functions:
            for dtype in dtypes:
                say(f"{backend.name}: scanning {function} {dtype}")
                scans += scan_errors(backend, run, function, dtype)

    divergences = []
    for cid, acc in sorted(tally.classes.items()):
        minimal = acc.minimal or acc.first
        worst = acc.worst
        assert minimal is not None and worst is not None
        max_ulp = (
            worst[2].comparison.ulp
            if worst[2].comparison and worst[2].comparison.ulp is not None
            else None
        )
        divergences.append(
            DivergenceClass(
                class_id=cid,
                function=acc.function,
                dtype=acc.dtype,
                quantity=acc.result.quantity,
                verdict=acc.result.verdict,
                regime=acc.result.regime,
                description=acc.description,
                count=acc.count,
                max_ulp=max_ulp if max_ulp is None or math.isfinite(max_ulp) else None,
                minimal=_example(minimal[0], minimal[1], backend, spec),
                worst=_example(worst[1], worst[2], backend, spec),
                tier=acc.tier,
                purpose=acc.purpose,
                found_in=None
                if acc.found_in is None
                else _example(acc.found_in[0], acc.found_in[1], backend, spec),
            )
        )
    counts = [
        VerdictCount(
            function=k[0], dtype=k[1], quantity=k[2], verdict=k[3], count=v[0], max_ulp=v[1]
        )
        for k, v in sorted(tally.counts.items())
    ]
    # The cells are those of the value purpose's structures: without it, none is expected.
    untested = coverage.untested(functions, dtypes) if "value" in purposes else {}
    return BackendRun(
        backend=backend.name,
        version=backend.version,
        device=backend.device,
        status="completed",
        cases=tally.cases,
        seconds=round(time.monotonic() - started, 1),
        counts=counts,
        divergences=divergences,
        scans=scans,
        value_comparisons=sum(coverage.value_comparisons.values()),
        contract_checks=sum(coverage.contract_checks.values()),
        purposes=purpose_counts,
        coverage=coverage.rows(),
        untested=[[*cell, reason] for cell, reason in sorted(untested.items())],
    )


def _grads(case: Case) -> tuple[str, ...]:
    return tuple(f"grad_{g}" for g in gradient_arguments(case))


def stderr_progress(message: str) -> None:
    """A one-line progress indicator on stderr (rewritten in place on a terminal)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + message)
    else:
        sys.stderr.write(message + "\n")
    sys.stderr.flush()
