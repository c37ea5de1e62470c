"""Why a mutant escapes: which of the hunt's calls would expose it at all.

    python -m tests.mutation.exposure --profile ci --seed 0 [--only NAME ...]

Runs the hunt (in process) against the careful reference while recording every call it makes,
then evaluates each recorded call on each mutant and counts the calls where the mutant's answer
differs from the reference's by more than the plugin tolerance (4 ULP in float64/float32, 2 in
float16/bfloat16; NaN against a number, a different shape or dtype, or raising against
returning all count). The reference is clean inside the documented contract, so it stands in
for the oracle here; with_logits calls outside the contract (targets outside [0, 1]) are left out.

A mutant with 0 exposing calls escapes because the hunt never draws an input that shows the
bug; one with exposing calls that still escapes was missed by the judge (or only in calls the
judge classes with the reference's own noise). The summary says what the calls were made of.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np
from conformance.audit import audit_backend
from conformance.profiles import PROFILES

from conformance.backends.isolation import evaluate_in_process
from conformance.backends.plugins import FunctionBackend
from conformance.backends.protocol import Call, Outcome
from oracle.formats import ulp_distance
from tests.mutation.mutants import MUTANTS
from tests.mutation.reference import PLUGIN
from tests.mutation.witness import TOLERANCE_ULP


def record_calls(profile: str, seed: int) -> list[tuple[Call, Outcome]]:
    """Every call the hunt makes against the reference, with the reference's outcome."""
    backend = FunctionBackend(PLUGIN, name="reference")
    calls: list[tuple[Call, Outcome]] = []

    def runner(call: Call) -> Outcome:
        outcome = evaluate_in_process(backend, call)
        calls.append((call, outcome))
        return outcome

    audit_backend(backend, PROFILES[profile], seed=seed, runner=runner)
    return calls


def in_contract(call: Call) -> bool:
    """Not a with_logits call with a target outside [0, 1] (NaN is a special value, not a
    contract question; binary_cross_entropy targets outside [0, 1] are contract checks)."""
    if call.function == "binary_cross_entropy":
        return True
    y = call.target.astype(np.float64)
    return bool(np.all(np.isnan(y) | ((y >= 0) & (y <= 1))))


def differs(call: Call, a: Outcome, b: Outcome) -> bool:
    """Whether two outcomes of one call differ beyond the plugin tolerance."""
    if (a.status == "ok") != (b.status == "ok"):
        return True
    if a.status != "ok":
        return False
    tol = TOLERANCE_ULP[call.dtype]
    pairs = [(a.value, b.value)] + [(a.gradients.get(g), b.gradients.get(g)) for g in call.grad_wrt]
    for x, y in pairs:
        if x is None or y is None:
            if (x is None) != (y is None):
                return True
            continue
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or x.dtype != y.dtype:
            return True
        if x.size and float(np.max(ulp_distance(x, y))) > tol:
            return True
    return False


def describe(calls: list[tuple[Call, Outcome]]) -> list[str]:
    """What the hunt's calls were: by status, and the make-up of the value-returning ones."""
    lines = [f"{len(calls)} calls"]
    by_status = Counter(o.status for _, o in calls)
    lines.append("  by status: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    ok = [(c, o) for c, o in calls if o.status == "ok" and in_contract(c)]
    lines.append(f"  returning a value inside the contract: {len(ok)}")

    def finite(c: Call) -> bool:
        arrays = [c.input, c.target] + [a for a in (c.weight, c.pos_weight) if a is not None]
        return all(np.all(np.isfinite(a.astype(np.float64))) for a in arrays)

    for function in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        mine = [c for c, _ in ok if c.function == function]
        fin = [c for c in mine if finite(c)]
        multi = [c for c in fin if c.input.size >= 2]
        weighted = [
            c
            for c in multi
            if c.weight is not None
            and len(np.unique(np.broadcast_to(c.weight, c.target.shape))) >= 2
        ]
        reductions = Counter(c.reduction if c.legacy is None else "legacy" for c in multi)
        lines.append(
            f"  {function}: {len(mine)} returning, {len(fin)} all-finite, "
            f"{len(multi)} all-finite with >= 2 elements ({dict(reductions)}), "
            f"{len(weighted)} of them with >= 2 distinct weights"
        )
        if function.endswith("logits"):
            pw = [
                c
                for c in fin
                if c.pos_weight is not None
                and np.any(
                    (c.target.astype(np.float64) > 0)
                    & (np.broadcast_to(c.pos_weight, c.target.shape).astype(np.float64) != 1)
                )
            ]
            lines.append(f"    all-finite with a pos_weight != 1 on a positive target: {len(pw)}")
        by_dtype = Counter(c.dtype for c in fin)
        lines.append(f"    all-finite by dtype: {dict(sorted(by_dtype.items()))}")
    return lines


def exposure(calls: list[tuple[Call, Outcome]], names: list[str]) -> dict[str, Counter]:
    """For each mutant, the exposing calls counted by (function, dtype, quantity asked)."""
    out: dict[str, Counter] = {}
    for name in names:
        backend = FunctionBackend(MUTANTS[name](), name=name)
        hits: Counter = Counter()
        for call, ref in calls:
            if not in_contract(call):
                continue
            if differs(call, ref, evaluate_in_process(backend, call)):
                what = "+".join(("value",) + call.grad_wrt)
                hits[
                    f"{call.function.removeprefix('binary_cross_entropy')[1:] or 'bce'}/{call.dtype}/{what}"
                ] += 1
        out[name] = hits
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.mutation.exposure", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--profile", choices=("ci", "dev", "deep"), default="ci")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="+", metavar="NAME")
    args = p.parse_args(argv)
    names = args.only or list(MUTANTS)
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        print(f"unknown mutant(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    calls = record_calls(args.profile, args.seed)
    print("\n".join(describe(calls)))
    for name, hits in exposure(calls, names).items():
        total = sum(hits.values())
        detail = ", ".join(f"{k} {v}" for k, v in hits.most_common(4))
        print(f"{name}: {total} exposing calls" + (f" ({detail})" if total else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
