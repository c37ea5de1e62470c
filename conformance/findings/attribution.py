"""Attribute a divergence class to a cause by checking its mechanism on the class's examples.

A cause with a formula explains a class when, on every distinct example of the class (the
minimal and the worst), its condition holds, the formula reproduces the backend's recorded
output bit for bit, and the repaired formula does not (a repaired formula may return a set of
possible outputs, an object with ``admits(got)``, such as outcomes.Outcomes: then none of
them may be the recorded output). A cause with a probe explains a class of
``did_not_raise`` examples when its stated check holds on every example. The first cause of
``conformance.findings.causes.CAUSES`` that explains a class is its cause; a class no cause
explains is "unexplained".

The *control* (``control=True``) moves every recorded output one ulp
(conformance.findings.arithmetic.next_after) and counts a ``did_not_raise`` as raised: a sound
registry then explains nothing, which shows that an explanation rests on the recorded outputs
and not on the formulas agreeing with anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.findings.arithmetic import next_after, same_bits, to
from conformance.findings.causes import BY_ID, CAUSES, UNEXPLAINED, Cause
from conformance.findings.elements import gather, recorded_output


@dataclass(frozen=True)
class Attribution:
    cause_id: str  # a key of conformance.findings.causes.BY_ID, or "unexplained"
    evidence: str  # e.g. "reproduced bit for bit on 2 of 2 examples (...)"
    source: str  # kernel source location, "" where unknown
    mechanism: str = ""  # the cause's one line
    tier: str = ""  # the cause's suggested tier

    @property
    def explained(self) -> bool:
        return self.cause_id != UNEXPLAINED


def distinct_examples(cls: Any) -> list[tuple[str, Any]]:
    """(name, example) for the minimal and the worst example, the worst left out when it is the
    same case and element as the minimal."""
    out = [("minimal", cls.minimal)]

    def key(ex: Any) -> str:
        return json.dumps([ex.case, ex.quantity, ex.element], sort_keys=True)

    if key(cls.worst) != key(cls.minimal):
        out.append(("worst", cls.worst))
    return out


def _backend_name(run_or_backend: Any) -> str:
    return run_or_backend if isinstance(run_or_backend, str) else run_or_backend.backend


def _formula_evidence(cause: Cause, backend: str, cls: Any, control: bool) -> str | None:
    examples = distinct_examples(cls)
    for _, ex in examples:
        g = gather(ex)
        got = recorded_output(ex, cls.dtype)
        if g is None or got is None:
            return None
        if control:
            got = next_after(got)
        if cause.condition is not None and not cause.condition(g, got, ex):
            return None
        try:
            out = cause.formula(backend, g)
            if out is None:
                return None
            if out.dtype != got.dtype:  # a mixed-dtype result: read it in the model's dtype
                got = recorded_output(ex, out.dtype.name)
                if control:
                    got = next_after(got)
            if not same_bits(out, got):
                return None
            if cause.repaired is not None:
                fixed = cause.repaired(backend, g)
                if fixed is None:
                    return None
                if hasattr(fixed, "admits"):  # a set of outputs (onnx_models.Outcomes)
                    if fixed.admits(got):
                        return None
                elif same_bits(to(fixed, out.dtype.name), got):
                    return None
        except Exception:  # a model that cannot evaluate an example explains nothing
            return None
    n = len(examples)
    names = " and ".join(name for name, _ in examples)
    text = f"reproduced bit for bit on {n} of {n} example(s) ({names})"
    if cause.repaired is not None:
        text += f"; the repaired formula ({cause.repaired_text}) does not reproduce them"
    return text


def _probe_evidence(cause: Cause, cls: Any, control: bool) -> str | None:
    if control:  # the recorded outcome read as raised: nothing returned a value
        return None
    examples = distinct_examples(cls)
    if not all(cause.probe(ex) for _, ex in examples):
        return None
    n = len(examples)
    return f"probe on {n} of {n} example(s): {cause.probe_text}, and the backend returned a value"


MAX_ELEMENTS = 4096  # the kernel models are scalar code: larger reductions are not tried


def _too_large(cls: Any) -> int:
    """The element count of the largest example of a class beyond MAX_ELEMENTS, else 0."""
    if cls.quantity in ("grad_input", "grad_target"):  # elementwise: one element to model
        return 0
    largest = 0
    for _, ex in distinct_examples(cls):
        recipe = (ex.case or {}).get("recipe") or {}
        if cls.quantity == "grad_weight" and recipe.get("weight") == "full":
            continue  # a weight of the loss's shape: its gradient is elementwise
        largest = max(largest, int(recipe.get("n", 0)))
    return largest if largest > MAX_ELEMENTS else 0


def attribute(run_or_backend: Any, cls: Any, control: bool = False) -> Attribution:
    """The cause of divergence class ``cls`` of a run (or a backend name), with its evidence."""
    backend = _backend_name(run_or_backend)
    n = _too_large(cls)
    if n:
        return Attribution(
            UNEXPLAINED,
            f"not tried: a reduction over {n} elements (the kernel models run on at most "
            f"{MAX_ELEMENTS}; no model of the framework's summation order yet)",
            "",
        )
    for cause in CAUSES:
        if not cause.applies_to(backend, cls.function, cls.quantity, cls.verdict):
            continue
        if cause.probe is not None:
            evidence = _probe_evidence(cause, cls, control)
        elif cause.formula is not None:
            evidence = _formula_evidence(cause, backend, cls, control)
        else:
            evidence = None
        if evidence is not None:
            return Attribution(
                cause_id=cause.id,
                evidence=evidence,
                source=cause.source.get(backend, ""),
                mechanism=cause.mechanism,
                tier=cause.tier,
            )
    return Attribution(
        UNEXPLAINED, "no cause of the registry reproduces the recorded outputs", "", ""
    )


def attach_causes(report: Any, control: bool = False) -> Any:
    """Write each class's cause onto the records (``cause``, ``mechanism``, ``evidence``,
    ``source``) and return the report; the audit calls this before writing the report."""
    for run in report.runs:
        for cls in run.divergences:
            try:
                a = attribute(run.backend, cls, control=control)
            except Exception as exc:  # attribution must never cost the report
                a = Attribution(UNEXPLAINED, f"attribution failed: {type(exc).__name__}: {exc}", "")
            cls.cause = a.cause_id
            cls.mechanism = a.mechanism
            cls.evidence = a.evidence
            cls.source = a.source
    return report


def baseline_explanation(cls: Any) -> str:
    """The baseline text of an attributed class: cause, mechanism, evidence, kernel source."""
    if cls.cause == UNEXPLAINED:
        return f"{UNEXPLAINED}: {cls.evidence}"
    text = f"{cls.cause}: {cls.mechanism} ({cls.evidence}"
    return text + (f"; {cls.source})" if cls.source else ")")


def cause_of(cause_id: str) -> Cause | None:
    return BY_ID.get(cause_id)
