"""What ``run`` prints: coverage, thin purposes, untested cells, and each counted class with its
minimal case (inputs at the divergent element, expected, exact, got, relative error, replay)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from conformance.findings.tiers import TIERS
from conformance.records import BackendRun, DivergenceClass, Example

_ARRAYS = ("input", "target", "weight", "pos_weight", "grad_output")


def readable_case(case: dict) -> dict:
    """A case's JSON with bit-exact arrays replaced by their (exact, readable) values."""
    out = {}
    for key, value in case.items():
        if key in _ARRAYS and isinstance(value, dict) and "values" in value:
            values = value["values"]
            shape = value.get("shape", [])
            out[key] = values[0] if shape == [] and len(values) == 1 else _nest(values, shape)
        else:
            out[key] = value
    return out


def _nest(values: list, shape: list[int]):
    if len(shape) <= 1:
        return list(values)
    step = len(values) // shape[0] if shape[0] else 0
    return [_nest(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def relative_error(example: Example) -> str:
    try:
        got, exact = float(example.got), float(example.expected_exact or example.expected)
    except ValueError:
        return ""
    if exact == 0 or got != got or exact != exact:
        return ""
    return f"{abs(got - exact) / abs(exact):.3g}"


def describe_class(cls: DivergenceClass, spec: str) -> list[str]:
    """The lines ``run`` prints for one counted class."""
    m = cls.minimal
    lines = [f"  [{cls.tier}] {cls.class_id}  x{cls.count}"]
    case = readable_case(m.case)
    args = ", ".join(f"{k}={json.dumps(case[k])}" for k in _ARRAYS if k in case)
    where = f" at element {m.element}" if m.element not in (None, []) else ""
    layout = f" layout={case['layout']}" if case.get("layout") else ""
    recipe = f" recipe={json.dumps(case['recipe'])}" if case.get("recipe") else ""
    lines.append(
        f"      case: {case['reduction']} {case.get('api', 'functional')}{layout}{recipe} {args}"
    )
    if cls.verdict == "did_not_raise":
        lines.append(f"      expected an error ({m.expected}); got: {m.got}")
    elif cls.verdict in ("raised", "crashed", "timeout"):
        lines.append(f"      expected a value; the backend {cls.verdict}: {m.got}")
    elif cls.verdict in ("shape_mismatch", "dtype_mismatch"):
        lines.append(f"      expected {m.expected or 'a value'}; got: {m.got}")
    else:
        exact = f" (exact {m.expected_exact})" if m.expected_exact else ""
        rel = relative_error(m)
        lines.append(
            f"      {m.quantity}{where}: expected {m.expected}{exact}, got {m.got}"
            + (f", relative error {rel}" if rel else "")
        )
    if cls.found_in is not None:
        lines.append("      (reduced to one element from a larger case)")
    replay = json.dumps([case], separators=(",", ":"))
    if len(replay) <= 600:
        lines.append(f"      replay: echo '{replay}' > case.json && ")
        lines.append(f"              bce-conformance replay --backend {spec} case.json")
    return lines


def summarize_run(run: BackendRun, counted: frozenset[str], spec: str) -> list[str]:
    """Every line ``run`` prints for one backend."""
    tiers = Counter(d.tier for d in run.divergences)
    counted_classes = [d for d in run.divergences if d.tier in counted]
    if run.status != "completed":
        head = f"{run.backend} {run.version} ({run.device}): {run.status}: {run.message}"
        return [head]
    state = (
        "conforms"
        if not counted_classes
        else f"{len(counted_classes)} counted divergence class(es)"
    )
    by_tier = ", ".join(f"{t} {tiers[t]}" for t in TIERS if tiers[t] and t in counted)
    lines = [
        f"{run.backend} {run.version} ({run.device}): {state}"
        + (f" ({by_tier})" if by_tier else "")
    ]
    lines.append(
        f"  {run.value_comparisons} value comparisons, {run.contract_checks} contract checks, "
        f"{len(run.untested)} cells untested ({run.cases} cases, {run.seconds:g} s)"
    )
    hidden = {t: tiers[t] for t in TIERS if t not in counted and tiers[t]}
    if hidden:
        lines.append(
            "  not counted: "
            + ", ".join(f"{n} {t} class(es)" for t, n in hidden.items())
            + " (recorded in the report; --strict counts them)"
        )
    thin = [p for p in run.purposes if p.compared < p.floor]
    for p in thin:
        lines.append(
            f"  under its floor: {p.function} {p.dtype} {p.purpose}: {p.compared} compared "
            f"of {p.generated} (floor {p.floor}; {p.declined} declined by the backend)"
        )
    if run.untested:
        groups: dict[str, list] = defaultdict(list)
        for row in run.untested:
            groups[row[-1]].append(row[:-1])
        lines.append(f"  untested cells ({len(run.untested)}), by reason:")
        for reason, cells in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            example = " ".join(str(c) for c in cells[0])
            lines.append(f"    {reason}: {len(cells)} cell(s), e.g. {example}")
    for cls in counted_classes:
        lines += describe_class(cls, spec)
    return lines
