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

from conformance.records import AuditReport, BackendRun, DivergenceClass, Example, ScanPoint
from conformance.report.report_markdown import (
    MAX_CLASSES_PER_BACKEND,
    fmt_ulp,
    format_case_inputs,
    summary_rows,
    verdict_columns,
)

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


def _example_rows(minimal: Example, worst: Example) -> list[str]:
    def cells(ex: Example) -> dict[str, str]:
        inputs = "<br>".join(
            f"{escape(k)}=<code>{escape(v)}</code>" for k, v in format_case_inputs(ex.case)
        )
        return {
            "quantity": f"<code>{escape(ex.quantity)}</code>",
            "inputs": inputs,
            "element": "" if ex.element is None else f"<code>{escape(str(ex.element))}</code>",
            "expected": f"<code>{escape(ex.expected)}</code>",
            "exact": f"<code>{escape(ex.expected_exact)}</code>",
            "got": f"<code>{escape(ex.got)}</code>",
            "ULP": escape(fmt_ulp(ex.ulp)),
            "condition error": escape(fmt_ulp(ex.condition_error)),
        }

    a, b = cells(minimal), cells(worst)
    return [f"<tr><th>{escape(k)}</th><td>{a[k]}</td><td>{b[k]}</td></tr>" for k in a]


def _class_details(cls: DivergenceClass) -> list[str]:
    return [
        f"<details><summary><code>{escape(cls.class_id)}</code> — {escape(cls.description)} "
        f"({cls.count} case(s), max ULP {escape(fmt_ulp(cls.max_ulp))})</summary>",
        f"<p><b>{escape(cls.verdict)}</b> · {escape(cls.function)} · {escape(cls.dtype)} · "
        f"{escape(cls.quantity)} · regime <code>{escape(cls.regime)}</code></p>",
        "<table><tr><th></th><th>minimal</th><th>worst</th></tr>",
        *_example_rows(cls.minimal, cls.worst),
        "</table><p>Reproducer (minimal example):</p>",
        f"<pre>{escape(cls.minimal.reproducer)}</pre></details>",
    ]


def _divergences(run: BackendRun, cap: int) -> list[str]:
    out = [f"<h3>{escape(run.backend)}: {len(run.divergences)} divergence class(es)</h3>"]
    for cls in run.divergences[:cap]:
        out += _class_details(cls)
    if len(run.divergences) > cap:
        out.append(
            f'<p class="note">{len(run.divergences) - cap} more class(es) not shown; '
            "see the JSON report.</p>"
        )
    return out


def render_html(report: AuditReport, max_classes: int = MAX_CLASSES_PER_BACKEND) -> str:
    """The report as one self-contained HTML page."""
    title = f"BCE conformance audit — tool {report.tool_version}, oracle {report.oracle}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Profile <code>{escape(report.profile)}</code> · seed <code>{escape(str(report.seed))}</code> · "
        f"created {escape(report.created)}</p>",
        "<h2>Backends</h2>",
        *_backends_table(report),
        "<h2>Summary</h2>",
        *_summary_table(report),
        "<h2>Divergence classes</h2>",
    ]
    for run in report.runs:
        body += _divergences(run, max_classes)
    body += ["<h2>Error scans</h2>", *_plots(report)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
