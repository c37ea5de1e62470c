"""Divergence classes grouped by cause, as the reports present them (records only).

A run's classes are grouped by the ``cause`` attached to them (conformance.findings); records
written before the findings have none and form one group "no cause recorded". Groups are listed
with "unexplained" (and "no cause recorded") first, then by the most severe tier among their
classes (defect, contract, convention, out-of-contract), then by number of cases; a group whose
classes have several tiers shows each with its count. Each group carries
what its first-screen row shows: tier, mechanism, dtypes, quantities, numbers of classes and
cases, the worst element's severity, and a single-element reproducer of its commonest class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.cases import Case, CaseError
from conformance.report.reproducer import reproducer
from conformance.report.severity import Severity, severity, worse

UNEXPLAINED = "unexplained"
NO_CAUSE = "no cause recorded"
NAMES = {"input": "x", "target": "y", "weight": "w", "pos_weight": "p"}
_EVIDENCE = re.compile(r"(reproduced bit for bit|probe) on (\d+) of (\d+) example")
TIER_ORDER = {"defect": 0, "contract": 1, "convention": 2, "out_of_contract": 3}
MAX_VALUES_SHOWN = 4


def tier_breakdown(classes: list[Any]) -> str:
    """The tiers of ``classes``, most severe first, with counts where they are mixed:
    "defect" or "defect 27, convention 16"; "-" where the records carry no tier."""
    counts: dict[str, int] = {}
    for c in classes:
        t = getattr(c, "tier", "") or "-"
        counts[t] = counts.get(t, 0) + 1
    order = sorted(counts, key=lambda t: (TIER_ORDER.get(t, len(TIER_ORDER)), t))
    if len(order) == 1:
        return order[0]
    return ", ".join(f"{t} {counts[t]}" for t in order)


@dataclass
class CauseGroup:
    cause: str
    mechanism: str = ""
    source: str = ""
    classes: list[Any] = field(default_factory=list)

    @property
    def tier(self) -> str:
        """The tiers of the group's classes (tier_breakdown)."""
        return tier_breakdown(self.classes)

    @property
    def rank(self) -> int:
        """The most severe tier among the group's classes (TIER_ORDER)."""
        return min(
            (TIER_ORDER.get(getattr(c, "tier", ""), len(TIER_ORDER)) for c in self.classes),
            default=len(TIER_ORDER),
        )

    @property
    def cases(self) -> int:
        return sum(c.count for c in self.classes)

    @property
    def dtypes(self) -> list[str]:
        order = ("float64", "float32", "float16", "bfloat16")
        found = {c.dtype for c in self.classes}
        return [d for d in order if d in found] + sorted(found - set(order))

    @property
    def quantities(self) -> list[str]:
        return sorted({c.quantity for c in self.classes})

    @property
    def worst(self) -> Severity:
        out: Severity | None = None
        for c in self.classes:
            for ex in (c.minimal, c.worst):
                s = severity(ex, c.dtype)
                out = s if out is None else worse(out, s)
        return out if out is not None else Severity(None, None, None, "—")

    @property
    def representative(self) -> Any:
        """The class with the most cases among those whose minimal example reduces to one
        element (else among all; ties: the first)."""
        single = [c for c in self.classes if single_element_case(c.minimal) is not None]
        return max(single or self.classes, key=lambda c: c.count)

    @property
    def evidence(self) -> str:
        """The evidence of the group's classes added up, e.g. "reproduced bit for bit on 41 of
        41 examples (20 classes)"; "" where the records carry none."""
        found, total, kind = 0, 0, ""
        for c in self.classes:
            m = _EVIDENCE.search(getattr(c, "evidence", "") or "")
            if m is None:
                return ""
            kind = kind or ("probe holds" if m.group(1) == "probe" else "reproduced bit for bit")
            found, total = found + int(m.group(2)), total + int(m.group(3))
        if not total:
            return ""
        return f"{kind} on {found} of {total} examples ({len(self.classes)} classes)"

    @property
    def anchor(self) -> str:
        return "cause-" + "".join(ch if ch.isalnum() else "-" for ch in self.cause.lower())


def cause_groups(run: Any) -> list[CauseGroup]:
    groups: dict[str, CauseGroup] = {}
    for cls in run.divergences:
        key = getattr(cls, "cause", "") or NO_CAUSE
        g = groups.get(key)
        if g is None:
            g = groups[key] = CauseGroup(
                cause=key,
                mechanism=getattr(cls, "mechanism", "")
                or (
                    "no cause of the registry reproduces the recorded outputs"
                    if key == UNEXPLAINED
                    else ""
                ),
                source=getattr(cls, "source", ""),
            )
        g.classes.append(cls)
    first = [groups.pop(k) for k in (UNEXPLAINED, NO_CAUSE) if k in groups]
    rest = sorted(groups.values(), key=lambda g: (g.rank, -g.cases, g.cause))
    return first + rest


def _case(example: Any) -> Case | None:
    try:
        return Case.from_json(example.case)
    except (CaseError, KeyError, TypeError, ValueError):
        return None


def element_inputs(example: Any) -> str:
    """``x=..., y=..., w=..., p=...`` at the example's element (reprs of the dtype's values);
    the whole case for a reduced or non-elementwise quantity."""
    case = _case(example)
    if case is None:
        return "—"
    arrays = case.arrays
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shape = None
    index = tuple(example.element) if example.element is not None else None
    if shape is not None and index is not None and len(index) == len(shape) and shape:
        parts = [
            f"{NAMES[n]}={float(np.broadcast_to(a, shape)[index].astype(np.float64))!r}"
            for n, a in arrays.items()
        ]
        return ", ".join(parts)
    parts = [f"{NAMES[n]}={_short(a)}" for n, a in arrays.items()]
    return ", ".join(parts) + f" ({case.effective_reduction})"


def _short(a: np.ndarray) -> str:
    """An array's values, the first MAX_VALUES_SHOWN of a longer one and its shape."""
    flat = a.astype(np.float64).reshape(-1).tolist()
    if a.ndim == 0:
        return repr(flat[0])
    if len(flat) <= MAX_VALUES_SHOWN and a.ndim == 1:
        return repr(flat)
    shown = ", ".join(repr(v) for v in flat[:MAX_VALUES_SHOWN])
    more = ", …" if len(flat) > MAX_VALUES_SHOWN else ""
    return f"[{shown}{more}] (shape {list(a.shape)})"


def single_element_case(example: Any) -> tuple[Case, tuple[int, ...]] | None:
    """The example's case and divergent element when the case is one element whose quantity is
    elementwise (reduction none, or a gradient of a sum whose arguments all have the loss's
    shape); else None. The case is the recorded one, unchanged (its reduction, upstream
    gradient, argument dtypes and API form: torch computes a mixed-dtype gradient of a sum
    otherwise than of reduction 'none'). A case the shrinker (conformance.hunt.minimize) left
    with several elements is one whose divergent element does not diverge alone (torch's
    vectorized loop computes an element of a long tensor otherwise than a lone one)."""
    case = _case(example)
    if case is None or example.element is None:
        return None
    arrays = case.arrays
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        return None
    index = tuple(example.element)
    if len(index) != len(shape) or not shape or int(np.prod(shape)) != 1:
        return None
    reduction = case.effective_reduction
    elementwise = reduction == "none" or (
        reduction == "sum"
        and example.quantity != "value"
        and all(a.shape == shape for a in arrays.values())
    )
    if not elementwise or (
        example.quantity in ("grad_weight", "grad_pos_weight")
        and arrays[example.quantity[5:]].shape != shape
    ):
        return None
    return case, index


def element_reproducer(backend: str, device: str, cls: Any) -> str:
    """A reproducer of ``cls``'s minimal example: one element where that keeps the quantity,
    else the recorded case, printing the element, the expected value and the comparison."""
    ex = cls.minimal
    if (ex.case or {}).get("recipe") is not None:
        return ex.reproducer  # a large case: `replay` regenerates it from its recipe
    if cls.verdict == "did_not_raise":
        case = _case(ex)
        if case is None:
            return ex.reproducer
        return reproducer(case, ex.quantity, backend, device, expect_error=ex.expected)
    single = single_element_case(ex)
    if single is not None:
        case, element = single
    else:
        case = _case(ex)
        if case is None:
            return ex.reproducer
        element = None if ex.element is None else tuple(ex.element)
    expected = ex.expected if _is_number(ex.expected) else None
    return reproducer(
        case,
        ex.quantity,
        backend,
        device,
        element=element,
        expected=expected,
        exact=ex.expected_exact or None,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def recorded_got(cls: Any, example: Any) -> str:
    """What the backend returned, as the record says; for ``did_not_raise`` records whose
    ``got`` repeats the expected error (older audits), say that a value was returned."""
    if cls.verdict == "did_not_raise" and example.got == example.expected:
        return "returned a value (not recorded)"
    return example.got
