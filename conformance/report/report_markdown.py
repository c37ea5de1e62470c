"""Markdown rendering of an audit report: fit for a GitHub CI job summary and for upstream issues.

The first screen is one row per cause (conformance.findings attaches causes to the records);
then every class, grouped under its cause. Records without a cause (older reports) are grouped
as "no cause recorded".

Also holds the small helpers the HTML report shares (summary rows, readable case inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from conformance.records import AuditReport, BackendRun, DivergenceClass
from conformance.report.by_cause import (
    NO_CAUSE,
    UNEXPLAINED,
    CauseGroup,
    cause_groups,
    element_inputs,
    element_reproducer,
    recorded_got,
    tier_breakdown,
)
from conformance.report.severity import format_bits, format_relative_error, severity, worse

# Column order of the summary table (all-zero columns are left out).
VERDICT_COLUMNS = (
    "conforms",
    "value_mismatch",
    "nan_mismatch",
    "inf_mismatch",
    "raised",
    "did_not_raise",
    "unsupported",
    "crashed",
    "timeout",
    "shape_mismatch",
)
COLLAPSE_AFTER = 8  # a cause group with more classes is folded in <details>
MAX_CLASSES_PER_BACKEND = COLLAPSE_AFTER  # old name, kept for importers
MAX_VALUES_SHOWN = 6
MAX_MESSAGE_LINES = 30
SKIPPED_CASE_KEYS = frozenset({"function", "dtype"})  # already in the class heading


# ---------------------------------------------------------------- shared helpers


@dataclass
class SummaryRow:
    """One backend × function × dtype line of the summary table."""

    backend: str
    function: str
    dtype: str
    cases: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    classes: list = field(default_factory=list)  # the run's divergence classes of this cell

    @property
    def classes_by_tier(self) -> str:
        """ "0", or the number of divergence classes and their tiers: "12: defect 9, ..."."""
        if not self.classes:
            return "0"
        return f"{len(self.classes)}: {tier_breakdown(self.classes)}"


def fmt_ulp(ulp: float | None) -> str:
    """A ULP distance for people: '—' when there is none, integers without decimals."""
    if ulp is None:
        return "—"
    if math.isnan(ulp) or math.isinf(ulp):
        return str(ulp)
    if ulp == int(ulp) and abs(ulp) < 1e15:
        return str(int(ulp))
    return f"{ulp:.3g}"


def summary_rows(run: BackendRun) -> list[SummaryRow]:
    """Rows per function × dtype (in order of appearance).

    Verdict columns count checked quantities (the value and every gradient); ``cases`` counts the
    value checks, i.e. the cases (or, without value checks, the largest per-quantity total).
    """
    rows: dict[tuple[str, str], SummaryRow] = {}
    per_quantity: dict[tuple[str, str, str], int] = {}
    for c in run.counts:
        row = rows.setdefault((c.function, c.dtype), SummaryRow(run.backend, c.function, c.dtype))
        row.verdicts[c.verdict] = row.verdicts.get(c.verdict, 0) + c.count
        key = (c.function, c.dtype, c.quantity)
        per_quantity[key] = per_quantity.get(key, 0) + c.count
    for (function, dtype), row in rows.items():
        totals = {q: n for (f, d, q), n in per_quantity.items() if (f, d) == (function, dtype)}
        row.cases = totals.get("value", max(totals.values(), default=0))
    for cls in run.divergences:
        row = rows.get((cls.function, cls.dtype))
        if row is not None:
            row.classes.append(cls)
    return list(rows.values())


def verdict_columns(rows: list[SummaryRow]) -> list[str]:
    """The verdict columns with at least one non-zero count, in the summary order."""
    return [v for v in VERDICT_COLUMNS if any(r.verdicts.get(v, 0) for r in rows)]


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        out: list[Any] = []
        for v in values:
            out.extend(_flatten(v))
        return out
    return [values]


def format_array(arr: dict[str, Any]) -> str:
    """``{"dtype","shape","hex","values"}`` as readable values, truncated for long arrays."""
    shape = arr.get("shape")
    values = arr.get("values")
    if values is None:
        return f"<{arr.get('dtype', '?')} array, shape {shape}>"
    flat = _flatten(values)
    if shape == [] or (not isinstance(values, list)):
        return _fmt_value(flat[0]) if flat else "[]"
    shown = ", ".join(_fmt_value(v) for v in flat[:MAX_VALUES_SHOWN])
    if len(flat) > MAX_VALUES_SHOWN:
        return f"[{shown}, … ({len(flat)} values, shape {shape})]"
    suffix = f" (shape {shape})" if shape is not None and len(shape) > 1 else ""
    return f"[{shown}]{suffix}"


def _is_array(v: Any) -> bool:
    return isinstance(v, dict) and "values" in v and ("hex" in v or "shape" in v)


def format_case_inputs(case: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, readable value) for each non-empty field of a case, arrays shown by their values."""
    out = []
    for key, value in case.items():
        if key in SKIPPED_CASE_KEYS or value is None or value == [] or value == {}:
            continue
        out.append((key, format_array(value) if _is_array(value) else _fmt_value(value)))
    return out


def last_line(text: str, limit: int = 300) -> str:
    """The last non-empty line of ``text`` (of a traceback: the error), cut to ``limit`` chars."""
    line = next((s.strip() for s in reversed(text.splitlines()) if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ---------------------------------------------------------------- markdown escaping


def md_text(text: str) -> str:
    """Plain text safe in Markdown and in table cells (no HTML, no column breaks, one line)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("*", "\\*")
    return " ".join(text.split())


def md_code(text: str, table: bool = False) -> str:
    """An inline code span holding ``text`` verbatim (one line; in a table, pipes escaped)."""
    text = " ".join(text.split())
    if table:
        text = text.replace("|", "\\|")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(text: str, lang: str = "") -> str:
    """A fenced code block holding ``text`` verbatim (the fence outgrows any backtick run in it)."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


# ---------------------------------------------------------------- sections


def _backend_line(run: BackendRun) -> list[str]:
    head = f"- **{md_text(run.backend)}** {md_text(run.version or '?')} on {md_code(run.device or '?')}: "
    if run.status == "completed":
        return [
            head
            + f"completed — {run.cases} cases"
            + (f" in {run.seconds:.1f} s" if run.seconds else "")
            + f", {len(run.divergences)} divergence class(es)"
        ]
    lines = [head + f"**{run.status.upper()}** — {md_text(last_line(run.message) or 'no message')}"]
    message_lines = run.message.strip().splitlines()
    if len(message_lines) > 1:
        shown = message_lines[-MAX_MESSAGE_LINES:]  # the end of a traceback says most
        lines += [
            "",
            "<details><summary>message</summary>",
            "",
            md_fence("\n".join(shown)),
            "",
            "</details>",
            "",
        ]
    return lines


def _summary_table(report: AuditReport) -> list[str]:
    rows = [r for run in report.runs for r in summary_rows(run)]
    columns = verdict_columns(rows)
    header = ["backend", "function", "dtype", "cases", "divergence classes (tiers)", *columns]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (2 + len(columns))]
    for run in report.runs:
        run_rows = summary_rows(run)
        if not run_rows:
            note = "*no results*" if run.status == "completed" else f"***{run.status}***"
            cells = [md_text(run.backend), note, "—", "0", "—", *["" for _ in columns]]
            out.append("| " + " | ".join(cells) + " |")
        for r in run_rows:
            cells = [
                md_text(r.backend),
                md_code(r.function, True),
                md_code(r.dtype, True),
                str(r.cases),
                md_text(r.classes_by_tier),
                *[str(r.verdicts.get(v, 0) or "") for v in columns],
            ]
            out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("Verdict columns count checked quantities (the value and each gradient).")
    return out


def _group_row(run: BackendRun, g: CauseGroup) -> str:
    rep = g.representative
    ex = rep.minimal
    sev = g.worst
    worst = format_relative_error(sev)
    if sev.correct_bits is not None:
        worst += f" ({format_bits(sev)} bits)"
    element = (
        f"{md_code(element_inputs(ex), True)} ({md_text(rep.dtype)}, {md_text(ex.quantity)}): "
        f"got {md_code(recorded_got(rep, ex), True)}, expected {md_code(ex.expected, True)}"
    )
    name = md_code(g.cause, True)
    link = f"[{name}](#{_anchor(run, g)})"
    return (
        f"| {link} | {md_text(g.tier)} | {md_text(g.mechanism)} | {md_text(', '.join(g.dtypes))} "
        f"| {md_text(', '.join(g.quantities))} | {len(g.classes)} | {g.cases} | {md_text(worst)} "
        f"| {element} |"
    )


def _anchor(run: BackendRun, g: CauseGroup) -> str:
    return f"{g.anchor}-{''.join(ch if ch.isalnum() else '-' for ch in run.backend.lower())}"


def _causes_table(run: BackendRun) -> list[str]:
    groups = cause_groups(run)
    total = sum(c.count for c in run.divergences)
    out = [
        f"### {md_text(run.backend)} {md_text(run.version or '?')}: "
        f"{len(run.divergences)} divergence class(es), {total} case(s), "
        f"{len([g for g in groups if g.cause not in (UNEXPLAINED, NO_CAUSE)])} cause(s)",
        "",
    ]
    if not run.divergences:
        done = "" if run.status == "completed" else f" (the backend {run.status}: see above)"
        return out + [f"No divergences{done}.", ""]
    out += [
        "| cause | tier | mechanism | dtypes | quantities | classes | cases "
        "| worst relative error | one element (reproducer below) |",
        "|---|---|---|---|---|---:|---:|---|---|",
    ]
    out += [_group_row(run, g) for g in groups]
    return out + [""]


def _class_row(cls: DivergenceClass) -> str:
    ex = cls.minimal
    sev = worse(severity(cls.minimal, cls.dtype), severity(cls.worst, cls.dtype))
    ulp = "—" if sev.ulp is None else fmt_ulp(sev.ulp)
    return (
        f"| {md_code(cls.class_id, True)} | {cls.count} | "
        f"{md_code(element_inputs(ex), True)} | {md_code(ex.expected, True)} | "
        f"{md_code(recorded_got(cls, ex), True)} | {md_text(format_relative_error(sev))} | "
        f"{format_bits(sev)} | {ulp} |"
    )


def _group_section(run: BackendRun, g: CauseGroup, collapse_after: int) -> list[str]:
    rep = g.representative
    out = [
        f'<a id="{_anchor(run, g)}"></a>',
        "",
        f"#### {md_code(g.cause)} · {md_text(g.tier)} · {len(g.classes)} class(es), "
        f"{g.cases} case(s)",
        "",
        md_text(g.mechanism) or "*no mechanism recorded*",
        "",
    ]
    if g.evidence:
        out += [f"Evidence: {md_text(g.evidence)}.  "]
    detail = getattr(rep, "evidence", "")
    if detail and g.cause != UNEXPLAINED:
        out += [f"For {md_code(rep.class_id)}: {md_text(detail)}.  "]
    if g.source:
        out += [f"Source: {md_text(g.source)}."]
    out += [
        "",
        f"Reproducer ({md_code(rep.class_id)}, minimal example):",
        "",
        md_fence(element_reproducer(run.backend, run.device, rep), "python"),
        "",
    ]
    table = [
        "| class | cases | element (minimal example) | expected | got "
        "| relative error | correct bits | ULP |",
        "|---|---:|---|---|---|---|---:|---:|",
        *[_class_row(c) for c in g.classes],
    ]
    if len(g.classes) > collapse_after:
        out += [
            f"<details><summary>{len(g.classes)} classes</summary>",
            "",
            *table,
            "",
            "</details>",
        ]
    else:
        out += table
    return out + [""]


def _classes_by_cause(run: BackendRun, collapse_after: int) -> list[str]:
    out = [f"### {md_text(run.backend)}: every class, by cause", ""]
    if not run.divergences:
        return out + ["None.", ""]
    for g in cause_groups(run):
        out += _group_section(run, g, collapse_after)
    return out


SEVERITY_NOTE = (
    "Severity: relative error |got - exact| / |exact| and the correct bits it leaves; the ULP "
    "distance only where both values are finite and of one sign."
)


def render_markdown(report: AuditReport, collapse_after: int = COLLAPSE_AFTER) -> str:
    """The report as GitHub-flavoured Markdown: the causes first (one row each, "unexplained"
    first), then the verdict summary, then every class grouped under its cause (groups of more
    than ``collapse_after`` classes folded in ``<details>``; no class is left out)."""
    out = [
        f"# BCE conformance audit — tool {md_text(report.tool_version)}, "
        f"oracle {md_text(report.oracle)}",
        "",
        f"Profile {md_code(report.profile)} · seed {md_code(str(report.seed))}"
        + (f" · created {md_text(report.created)}" if report.created else ""),
        "",
        "## Backends",
        "",
    ]
    for run in report.runs:
        out += _backend_line(run)
    out += ["", "## Causes", ""]
    for run in report.runs:
        out += _causes_table(run)
    out += [SEVERITY_NOTE, "", "## Summary", ""] + _summary_table(report)
    out += ["", "## Divergence classes by cause", ""]
    for run in report.runs:
        out += _classes_by_cause(run, collapse_after)
    return "\n".join(out).rstrip() + "\n"
