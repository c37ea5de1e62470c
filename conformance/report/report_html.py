"""Self-contained HTML rendering of an audit report (inline CSS, plots as base64 PNG data URIs).

Plots come from each run's ``scan`` points: per backend and dtype, the ULP error against the input
x (one panel per function), and a heatmap of log10(1 + ULP) over (x, y). Without matplotlib the page
is rendered without plots and says so. Every piece of text from the report is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from html import escape
from typing import Any

from conformance.records import AuditReport, BackendRun, DivergenceClass, ScanPoint
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

LOGIT_FUNCTIONS = frozenset({"binary_cross_entropy_with_logits"})
HEATMAP_BINS = 40
NO_NUMBER_MARKERS = {  # verdict -> matplotlib marker for scan points without a ULP distance
    "conforms": "o",
    "nan_mismatch": "X",
    "inf_mismatch": "^",
    "raised": "s",
    "did_not_raise": "D",
    "unsupported": ".",
    "crashed": "*",
    "timeout": "P",
    "shape_mismatch": "v",
    "value_mismatch": "x",
}

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
"""


# ---------------------------------------------------------------- plots


def _png_data_uri(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _finite_x(points: list[ScanPoint]) -> list[ScanPoint]:
    return [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]


def _groups(run: BackendRun) -> dict[str, dict[str, list[ScanPoint]]]:
    """dtype -> function -> points, in order of appearance."""
    out: dict[str, dict[str, list[ScanPoint]]] = {}
    for p in run.scan:
        out.setdefault(p.dtype, {}).setdefault(p.function, []).append(p)
    return out


def _ulp_figure(run: BackendRun, dtype: str, by_function: dict[str, list[ScanPoint]]) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(by_function), 3.6), layout="constrained")
    axes = fig.subplots(1, len(by_function), squeeze=False)[0]
    for ax, (function, points) in zip(axes, by_function.items()):
        points = _finite_x(points)
        numbers = [p for p in points if p.ulp is not None and math.isfinite(p.ulp)]
        top = max([p.ulp for p in numbers] + [1.0]) * 10
        for label, pts, color in (
            ("within tolerance", [p for p in numbers if p.verdict == "conforms"], "tab:blue"),
            ("divergent", [p for p in numbers if p.verdict != "conforms"], "tab:red"),
        ):
            if pts:
                ax.scatter([p.x for p in pts], [p.ulp for p in pts], s=6, c=color, label=label)
        others = [p for p in points if p.ulp is None or not math.isfinite(p.ulp)]
        for verdict in sorted({p.verdict for p in others}):
            pts = [p for p in others if p.verdict == verdict]
            color = "tab:gray" if verdict in ("conforms", "unsupported") else "black"
            ax.scatter(
                [p.x for p in pts],
                [top] * len(pts),
                s=18,
                c=color,
                marker=NO_NUMBER_MARKERS.get(verdict, "o"),
                label=f"{verdict} (no number)",
            )
        if others:
            ax.axhline(top, color="#999", lw=0.5, ls=":")
        ax.set_yscale("symlog", linthresh=1.0)  # logarithmic above 1 ULP, 0 ULP still visible
        ax.set_ylim(-0.2, top * 3)
        if function in LOGIT_FUNCTIONS:
            ax.set_xscale("symlog", linthresh=1.0)
            ax.tick_params(axis="x", labelsize=7)
        ax.set_title(f"{run.backend} · {dtype} · {function}", fontsize=9)
        ax.set_xlabel("input x (logit)" if function in LOGIT_FUNCTIONS else "input x")
        ax.set_ylabel("ULP error")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _axis_transform(function: str) -> tuple[Callable[[float], float], str]:
    if function in LOGIT_FUNCTIONS:
        return (lambda v: math.copysign(math.log10(1 + abs(v)), v)), "sign(x)·log10(1+|x|)"
    return (lambda v: v), "input x"


def _edges(values: list[float]) -> Any:
    import numpy as np

    lo, hi = min(values), max(values)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    distinct = sorted(set(values))
    if len(distinct) <= HEATMAP_BINS:  # one bin per grid value
        mids = [(a + b) / 2 for a, b in zip(distinct, distinct[1:])]
        first = distinct[0] - (mids[0] - distinct[0] if mids else 0.5)
        last = distinct[-1] + (distinct[-1] - mids[-1] if mids else 0.5)
        return np.array([first, *mids, last])
    return np.linspace(lo, hi, HEATMAP_BINS + 1)


def _heatmap_figure(run: BackendRun, dtype: str, by_function: dict[str, list[ScanPoint]]) -> Any:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(by_function), 3.8), layout="constrained")
    axes = fig.subplots(1, len(by_function), squeeze=False)[0]
    for ax, (function, points) in zip(axes, by_function.items()):
        pts = [p for p in _finite_x(points) if p.ulp is not None and math.isfinite(p.ulp)]
        ax.set_title(f"{run.backend} · {dtype} · {function}", fontsize=9)
        if not pts:
            ax.text(0.5, 0.5, "no numeric points", ha="center", va="center")
            continue
        tx, xlabel = _axis_transform(function)
        xs, ys = [tx(p.x) for p in pts], [p.y for p in pts]
        xe, ye = _edges(xs), _edges(ys)
        grid = np.full((len(ye) - 1, len(xe) - 1), np.nan)
        ix = np.clip(np.searchsorted(xe, xs, side="right") - 1, 0, len(xe) - 2)
        iy = np.clip(np.searchsorted(ye, ys, side="right") - 1, 0, len(ye) - 2)
        for i, j, p in zip(iy, ix, pts):
            v = math.log10(1 + p.ulp)
            grid[i, j] = v if np.isnan(grid[i, j]) else max(grid[i, j], v)
        vmax = max(1.0, float(np.nanmax(grid)))
        mesh = ax.pcolormesh(xe, ye, grid, cmap="viridis", vmin=0, vmax=vmax)
        fig.colorbar(mesh, ax=ax, label="log10(1 + ULP), max per cell")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("target y")
    return fig


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
        for dtype, by_function in _groups(run).items():
            title = f"{run.backend} · {dtype}"
            for kind, make in (
                ("ULP error against x", _ulp_figure),
                ("log10(1+ULP) over (x, y)", _heatmap_figure),
            ):
                try:
                    uri = _png_data_uri(make(run, dtype, by_function))
                except Exception as exc:  # a plot must not cost the page
                    out.append(
                        f'<p class="note">Plot {escape(kind)} for {escape(title)} failed: '
                        f"{escape(type(exc).__name__)}: {escape(str(exc))}</p>"
                    )
                    continue
                out.append(
                    f'<figure><img src="{uri}" alt="{escape(kind)}, {escape(title)}">'
                    f"<figcaption>{escape(kind)} — {escape(title)}</figcaption></figure>"
                )
    return out or ['<p class="note">No scan points in this report: nothing to plot.</p>']


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
            f'<td class="n">{r.cases}</td><td class="n">{r.seconds:.1f}</td>'
            f'<td class="n">{len(r.divergences)}</td><td>{message}</td></tr>'
        )
    return out + ["</table>"]


def _summary_table(report: AuditReport) -> list[str]:
    rows = [row for run in report.runs for row in summary_rows(run)]
    columns = verdict_columns(rows)
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in ["backend", "function", "dtype", "cases", "max ULP", *columns]
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
                f'<td class="n">{escape(fmt_ulp(r.max_ulp))}</td>{counts}</tr>'
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
        f"<p>Profile <code>{escape(report.profile)}</code> · seed <code>{escape(str(report.seed))}</code> · "
        f"created {escape(report.created)}</p>",
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
