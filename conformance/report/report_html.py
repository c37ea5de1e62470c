"""Self-contained HTML rendering of an audit report (inline CSS, plots as base64 PNG data URIs).

Plots come from each run's error scan (``scans``, conformance.report.plots): one figure per
(function, dtype, quantity) with points, a one-line note for a quantity the backend declined.
Without matplotlib the page is rendered without plots and says so. The same report gives the
same bytes. Every piece of text from the report is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from conformance.records import AuditReport, BackendRun, DivergenceClass, ScanSeries
from conformance.report.by_cause import (
    NO_CAUSE,
    UNEXPLAINED,
    CauseGroup,
    cause_groups,
    element_inputs,
    element_reproducer,
    recorded_got,
)
from conformance.report.report_markdown import (
    COLLAPSE_AFTER,
    SEVERITY_NOTE,
    fmt_ulp,
    summary_rows,
    verdict_columns,
)
from conformance.report.severity import format_bits, format_relative_error, severity, worse

SCAN_NOTE = (
    "Error scans: every point of a dense grid (logits 0 and 1e-3 <= |x| <= 1e4, probabilities from "
    "the smallest subnormal or 1e-45 to 1 - 2^-p) under a few targets, judged element by element. "
    "A point's height is its relative error against the correctly rounded value; the bottom band "
    "(0) holds the correctly rounded results, the top band the results that are not numbers."
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;
 color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .5em;
 text-align:left;vertical-align:top}td.n{text-align:right}th{background:#f3f3f3}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
summary{cursor:pointer}.bad{color:#b00020;font-weight:bold}.ok{color:#1b5e20}
.note{color:#666;font-style:italic}img{max-width:100%}
figure{margin:1.2em 0;border-top:1px solid #ddd;padding-top:.4em}figcaption{font-weight:bold}
"""


# ---------------------------------------------------------------- plots


def _scan_sections(run: BackendRun) -> list[str]:
    """One figure per (function, dtype, quantity) with points; a line for the others."""
    from conformance.report.plots import png_data_uri, scan_figure

    out = [f"<h3>{escape(run.backend)} {escape(run.version)} ({escape(run.device)})</h3>"]
    by_cell: dict[tuple[str, str], list[ScanSeries]] = {}
    for s in run.scans:
        by_cell.setdefault((s.function, s.dtype), []).append(s)
    for (function, dtype), series in by_cell.items():
        title = f"{run.backend} · {function} · {dtype}"
        plotted = [s for s in series if s.x]
        notes = sorted({s.note or "no points" for s in series if not s.x})
        if not plotted:
            out.append(f'<p class="note">{escape(title)}: no plot, {escape("; ".join(notes))}</p>')
            continue
        out.append(f"<h4>{escape(title)}</h4>")
        for s in series:
            what = "loss" if s.quantity == "value" else f"gradient wrt {s.quantity[5:]}"
            if not s.x:
                out.append(f'<p class="note">{escape(what)}: no plot, {escape(s.note)}</p>')
                continue
            try:
                uri = png_data_uri(scan_figure(s, run.backend))
            except Exception as exc:  # a plot must not cost the page
                out.append(
                    f'<p class="note">The plot of the {escape(what)} failed: '
                    f"{escape(type(exc).__name__)}: {escape(str(exc))}</p>"
                )
                continue
            divergent = sum(v != "conforms" for v in s.verdict)
            out.append(
                f"<figure><figcaption>{escape(what)} — {escape(title)}: {len(s.x)} points, "
                f'{divergent} divergent</figcaption><img src="{uri}" alt="Relative error of '
                f'the {escape(what)}, {escape(title)}"></figure>'
            )
    return out


def _plots(report: AuditReport) -> list[str]:
    """HTML for all plots, or a note saying why there are none."""
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return [
            '<p class="note">Plots omitted: matplotlib is not installed '
            "(pip install 'bce-conformance[reports]').</p>"
        ]
    out: list[str] = []
    for run in report.runs:
        if run.scans:
            out += _scan_sections(run)
        elif run.scan:
            out.append(
                f'<p class="note">{escape(run.backend)}: this report holds the sparse scan of an '
                "older version; run the audit again for the plots.</p>"
            )
    if not out:
        return [
            '<p class="note">No error scan in this report (the dev and deep profiles make '
            "one): nothing to plot.</p>"
        ]
    return [f'<p class="note">{escape(SCAN_NOTE)}</p>', *out]


# ---------------------------------------------------------------- tables and sections


def _backends_table(report: AuditReport) -> list[str]:
    out = [
        "<table><tr><th>backend</th><th>version</th><th>device</th><th>status</th>"
        "<th>cases</th><th>seconds</th><th>classes</th><th>message</th></tr>"
    ]
    for r in report.runs:
        cls = "ok" if r.status == "completed" else "bad"
        message = f"<pre>{escape(r.message)}</pre>" if r.message else ""
        out.append(
            f"<tr><td>{escape(r.backend)}</td><td>{escape(r.version)}</td>"
            f'<td>{escape(r.device)}</td><td class="{cls}">{escape(r.status)}</td>'
            f'<td class="n">{r.cases}</td><td class="n">{f"{r.seconds:.1f}" if r.seconds else "—"}</td>'
            f'<td class="n">{len(r.divergences)}</td><td>{message}</td></tr>'
        )
    return out + ["</table>"]


def _summary_table(report: AuditReport) -> list[str]:
    rows = [row for run in report.runs for row in summary_rows(run)]
    columns = verdict_columns(rows)
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in ["backend", "function", "dtype", "cases", "divergence classes (tiers)", *columns]
    )
    out = [f"<table><tr>{head}</tr>"]
    for run in report.runs:
        run_rows = summary_rows(run)
        if not run_rows:
            out.append(
                f'<tr><td>{escape(run.backend)}</td><td colspan="{4 + len(columns)}" '
                f'class="bad">no results ({escape(run.status)})</td></tr>'
            )
        for r in run_rows:
            counts = "".join(f'<td class="n">{r.verdicts.get(v, 0) or ""}</td>' for v in columns)
            out.append(
                f"<tr><td>{escape(r.backend)}</td><td><code>{escape(r.function)}</code></td>"
                f'<td><code>{escape(r.dtype)}</code></td><td class="n">{r.cases}</td>'
                f"<td>{escape(r.classes_by_tier)}</td>{counts}</tr>"
            )
    out.append(
        '</table><p class="note">Verdict columns count checked quantities '
        "(the value and each gradient).</p>"
    )
    return out


def _element_cell(cls: DivergenceClass) -> str:
    return f"<code>{escape(element_inputs(cls.minimal))}</code>"


def _causes_table(run: BackendRun) -> list[str]:
    groups = cause_groups(run)
    out = [
        f"<h3>{escape(run.backend)} {escape(run.version)}: {len(run.divergences)} divergence "
        f"class(es), {sum(c.count for c in run.divergences)} case(s)</h3>"
    ]
    if not run.divergences:
        return out + ["<p>No divergences.</p>"]
    out.append(
        "<table><tr><th>cause</th><th>tier</th><th>mechanism</th><th>dtypes</th>"
        "<th>quantities</th><th>classes</th><th>cases</th><th>worst relative error</th>"
        "<th>one element</th></tr>"
    )
    for g in groups:
        rep = g.representative
        sev = g.worst
        worst = format_relative_error(sev)
        if sev.correct_bits is not None:
            worst += f" ({format_bits(sev)} bits)"
        cls = ' class="bad"' if g.cause in (UNEXPLAINED, NO_CAUSE) else ""
        out.append(
            f'<tr><td{cls}><a href="#{escape(_anchor(run, g))}"><code>{escape(g.cause)}</code>'
            f"</a></td><td>{escape(g.tier)}</td><td>{escape(g.mechanism)}</td>"
            f"<td>{escape(', '.join(g.dtypes))}</td><td>{escape(', '.join(g.quantities))}</td>"
            f'<td class="n">{len(g.classes)}</td><td class="n">{g.cases}</td>'
            f"<td>{escape(worst)}</td><td>{_element_cell(rep)} ({escape(rep.dtype)}, "
            f"{escape(rep.minimal.quantity)}): got <code>{escape(recorded_got(rep, rep.minimal))}"
            f"</code>, expected <code>{escape(rep.minimal.expected)}</code></td></tr>"
        )
    return out + ["</table>"]


def _anchor(run: BackendRun, g: CauseGroup) -> str:
    return f"{g.anchor}-{''.join(ch if ch.isalnum() else '-' for ch in run.backend.lower())}"


def _class_row(cls: DivergenceClass) -> str:
    ex = cls.minimal
    sev = worse(severity(cls.minimal, cls.dtype), severity(cls.worst, cls.dtype))
    ulp = "—" if sev.ulp is None else fmt_ulp(sev.ulp)
    return (
        f'<tr><td><code>{escape(cls.class_id)}</code></td><td class="n">{cls.count}</td>'
        f"<td>{_element_cell(cls)}</td><td><code>{escape(ex.expected)}</code></td>"
        f"<td><code>{escape(recorded_got(cls, ex))}</code></td>"
        f'<td>{escape(format_relative_error(sev))}</td><td class="n">{format_bits(sev)}</td>'
        f'<td class="n">{escape(ulp)}</td></tr>'
    )


def _group_section(run: BackendRun, g: CauseGroup, collapse_after: int) -> list[str]:
    rep = g.representative
    out = [
        f'<h4 id="{escape(_anchor(run, g))}"><code>{escape(g.cause)}</code> · {escape(g.tier)}'
        f" · {len(g.classes)} class(es), {g.cases} case(s)</h4>",
        f"<p>{escape(g.mechanism)}</p>",
    ]
    if g.evidence:
        out.append(f"<p>Evidence: {escape(g.evidence)}.</p>")
    detail = getattr(rep, "evidence", "")
    if detail and g.cause != UNEXPLAINED:
        out.append(f"<p>For <code>{escape(rep.class_id)}</code>: {escape(detail)}.</p>")
    if g.source:
        out.append(f"<p>Source: {escape(g.source)}.</p>")
    out += [
        f"<p>Reproducer (<code>{escape(rep.class_id)}</code>, minimal example):</p>",
        f"<pre>{escape(element_reproducer(run.backend, run.device, rep))}</pre>",
    ]
    table = [
        "<table><tr><th>class</th><th>cases</th><th>element (minimal example)</th>"
        "<th>expected</th><th>got</th><th>relative error</th><th>correct bits</th>"
        "<th>ULP</th></tr>",
        *[_class_row(c) for c in g.classes],
        "</table>",
    ]
    if len(g.classes) > collapse_after:
        out += [f"<details><summary>{len(g.classes)} classes</summary>", *table, "</details>"]
    else:
        out += table
    return out


def _divergences(run: BackendRun, collapse_after: int) -> list[str]:
    out = [f"<h3>{escape(run.backend)}: every class, by cause</h3>"]
    if not run.divergences:
        return out + ["<p>None.</p>"]
    for g in cause_groups(run):
        out += _group_section(run, g, collapse_after)
    return out


def render_html(report: AuditReport, collapse_after: int = COLLAPSE_AFTER) -> str:
    """The report as one self-contained HTML page: causes first, then the summary, every class
    grouped by cause, and the plots."""
    title = f"BCE conformance audit — tool {report.tool_version}, oracle {report.oracle}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Profile <code>{escape(report.profile)}</code> · seed <code>{escape(str(report.seed))}</code>"
        + (f" · created {escape(report.created)}" if report.created else "")
        + "</p>",
        "<h2>Backends</h2>",
        *_backends_table(report),
        "<h2>Causes</h2>",
        *[line for run in report.runs for line in _causes_table(run)],
        f'<p class="note">{escape(SEVERITY_NOTE)}</p>',
        "<h2>Summary</h2>",
        *_summary_table(report),
        "<h2>Divergence classes by cause</h2>",
    ]
    for run in report.runs:
        body += _divergences(run, collapse_after)
    body += ["<h2>Error scans</h2>", *_plots(report)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
