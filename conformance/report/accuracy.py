"""Accuracy tables: the results of sweeps, as JSON and Markdown.

One row per (backend, function, dtype, quantity, target, weight, pos_weight): the largest ULP
distance from the correctly rounded result with the input where it happens, how many results are
not correctly rounded, how many are beyond the tolerance, the largest relative error, and whether
the numbers are exact (an exhaustive sweep) or lower bounds (samples). The files carry no time
stamps: the same sweep gives byte-identical tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from conformance import __version__

FORMAT = "bce-conformance-accuracy/1"


def _order(cell: dict[str, Any]) -> tuple:
    def num(v):
        return (v is not None, v if v is not None else 0.0)

    return (cell["function"], cell["dtype"], cell["backend"], cell["quantity"], cell["target"],
            num(cell.get("weight")), num(cell.get("pos_weight")))  # fmt: skip


def accuracy_json(cells: Iterable[dict[str, Any]]) -> str:
    """The table as JSON text (cells sorted; no time stamps)."""
    data = {
        "format": FORMAT,
        "tool_version": __version__,
        "cells": sorted(cells, key=_order),
    }
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def _fraction(part: int, whole: int) -> str:
    if not whole:
        return "0"
    return f"{part} ({part / whole:.2%})" if part else "0"


def _args(cell: dict[str, Any]) -> str:
    text = f"y={cell['target']:.6g}"
    if cell.get("weight") is not None:
        text += f", w={cell['weight']:.6g}"
    if cell.get("pos_weight") is not None:
        text += f", p={cell['pos_weight']:.6g}"
    return text


def _row(cell: dict[str, Any]) -> str:
    head = f"| {cell['backend']} | {cell['quantity']} | {_args(cell)} |"
    if cell["status"] != "ok":
        error = cell.get("error", "").splitlines()[0][:80] if cell.get("error") else ""
        return head + f" {cell['status']}: {error} | | | | | |"
    worst = cell.get("worst_input")
    where = (
        f"x={worst['input_value']} (`{worst['input']}`): {worst['got']} for {worst['expected']}"
        if worst
        else "—"
    )
    max_ulp = f"{cell['max_ulp']:g}"
    if cell.get("nan_mismatch"):
        max_ulp += f" (+{cell['nan_mismatch']} NaN)"
    rel = cell.get("max_relative_error")
    kind = "exact" if cell["exhaustive"] else "lower bound"
    return (
        head + f" {max_ulp} | {where} | {_fraction(cell['not_correctly_rounded'], cell['count'])}"
        f" | {_fraction(cell['beyond_tolerance'], cell['count'])}"
        f" | {'—' if rel is None else format(rel['value'], '.3g')} | {cell['count']} ({kind}) |"
    )


def accuracy_markdown(cells: Iterable[dict[str, Any]]) -> str:
    """The table as Markdown: one section per (function, dtype)."""
    cells = sorted(cells, key=_order)
    lines = [
        "# Accuracy of the binary cross-entropy losses",
        "",
        "Each row: every input `x` of the sweep (all finite values of the format, all of [0, 1] "
        "for `binary_cross_entropy`, or stratified samples), the other arguments fixed, "
        "elementwise (reduction `none`, upstream gradient 1). *max ULP*: the largest distance "
        "from the correctly rounded result on the format's lattice (NaN mismatches counted "
        "apart), with its input (ties: the smallest bit pattern); *not CR*: results that are not "
        "the correct rounding; *beyond tol.*: beyond the tolerance of "
        "`conformance/judge/tolerances.py`; *max rel.*: the largest relative error against the "
        "correctly rounded result. Exhaustive sweeps give exact numbers, samples lower bounds.",
        "",
    ]
    machines = sorted({m for cell in cells for m in cell.get("machines", ())})
    if machines:  # the kernels a library dispatches to depend on the CPU (hunt/machine.py)
        lines += ["Computed on: " + "; ".join(f"`{m}`" for m in machines) + ".", ""]
    section = None
    for cell in cells:
        key = (cell["function"], cell["dtype"])
        if key != section:
            section = key
            lines += [
                "",
                f"## {cell['function']} — {cell['dtype']}",
                "",
                "| backend | quantity | fixed | max ULP | worst input | not CR | beyond tol. "
                "| max rel. | inputs |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
        lines.append(_row(cell))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML with plots


def _binade_points(cell: dict[str, Any]) -> tuple[list[int], list[float]]:
    """Per input binade: its position on the plot's axis (the exponent field + 1, negative for
    negative inputs; the zeros and subnormals are the binade of field 0) and its max ULP
    (infinite where a NaN mismatch happened)."""
    xs, worst = [], []
    for name, (_count, _wrong, max_ulp, nans) in cell.get("by_binade", {}).items():
        sign, exponent = (int(v) for v in name.split(":"))
        xs.append(-(exponent + 1) if sign else exponent + 1)
        worst.append(float("inf") if nans else max_ulp)
    return xs, worst


def accuracy_figure(cells: list[dict[str, Any]], title: str) -> Any:
    """Max ULP error per input binade, one line per (backend, quantity), over the whole range
    of inputs: x runs over the binades (labelled by their power of two), y is logarithmic."""
    from matplotlib.figure import Figure

    from oracle.formats import format_of

    fmt = format_of(cells[0]["dtype"])
    bias = (1 << (fmt.width - fmt.precision - 1)) - 1
    fig = Figure(figsize=(8.0, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    positions: set[int] = set()
    for cell in cells:
        if cell["status"] != "ok" or not cell.get("by_binade"):
            continue
        xs, worst = _binade_points(cell)
        order = sorted(range(len(xs)), key=lambda i: xs[i])
        ys = [min(worst[i], 1e9) + 0.5 for i in order]  # +0.5: a log axis shows 0 ULP
        ax.plot([xs[i] for i in order], ys, marker=".", markersize=3, linewidth=0.8,
                label=f"{cell['backend']} {cell['quantity']}")  # fmt: skip
        positions.update(xs)
    if positions:
        lo, hi = min(positions), max(positions)
        step = max(1, (hi - lo) // 12)
        ticks = [t for t in range(lo, hi + 1) if t % step == 0 and t != 0]

        def label(t: int) -> str:
            e = max(abs(t) - 1, 1) - bias
            return ("-" if t < 0 else "") + f"$2^{{{e}}}$"

        ax.set_xticks(ticks, [label(t) for t in ticks], fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("input x, by binade (negative inputs to the left)")
    ax.set_ylabel("max ULP error + 0.5")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return fig


def accuracy_html(cells: Iterable[dict[str, Any]]) -> str:
    """The Markdown table's content as HTML, with one error-against-input plot per (function,
    dtype, target)."""
    import html

    from conformance.report.plots import png_data_uri

    cells = sorted(cells, key=_order)
    body = ["<h1>Accuracy of the binary cross-entropy losses</h1>"]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cell in cells:
        key = (cell["function"], cell["dtype"], _args(cell))
        groups.setdefault(key, []).append(cell)
    section = None
    for (function, dtype, args), group in groups.items():
        if (function, dtype) != section:
            section = (function, dtype)
            body.append(f"<h2>{html.escape(function)} — {dtype}</h2>")
        body.append(f"<h3>{html.escape(args)}</h3>")
        rows = [
            "<tr><th>backend</th><th>quantity</th><th>max ULP</th><th>worst input</th>"
            "<th>not CR</th><th>beyond tol.</th><th>inputs</th></tr>"
        ]
        for cell in group:
            if cell["status"] != "ok":
                rows.append(f"<tr><td>{html.escape(cell['backend'])}</td><td>{cell['quantity']}"
                            f"</td><td colspan=5>{html.escape(cell['status'])}: "
                            f"{html.escape(cell.get('error', '')[:120])}</td></tr>")  # fmt: skip
                continue
            worst = cell.get("worst_input")
            where = (f"x={worst['input_value']} ({worst['input']}): {worst['got']} for "
                     f"{worst['expected']}") if worst else "—"  # fmt: skip
            kind = "exact" if cell["exhaustive"] else "lower bound"
            rows.append(
                f"<tr><td>{html.escape(cell['backend'])}</td><td>{cell['quantity']}</td>"
                f"<td>{cell['max_ulp']:g}</td><td>{html.escape(where)}</td>"
                f"<td>{_fraction(cell['not_correctly_rounded'], cell['count'])}</td>"
                f"<td>{_fraction(cell['beyond_tolerance'], cell['count'])}</td>"
                f"<td>{cell['count']} ({kind})</td></tr>"
            )
        body.append("<table>" + "".join(rows) + "</table>")
        if any(c["status"] == "ok" for c in group):
            fig = accuracy_figure(group, f"{function} {dtype}, {args}")
            body.append(f'<img alt="max ULP per binade" src="{png_data_uri(fig)}">')
    style = ("body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:"
             "collapse;font-size:80%}td,th{border:1px solid #ccc;padding:2px 6px}")  # fmt: skip
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Accuracy</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")  # fmt: skip
