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
