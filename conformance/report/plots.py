"""Figures of the error scan: one per (function, dtype, quantity), from ScanSeries records alone.

A figure has four panels that share their axes, one per kind of target: y = 0, y = 1, the fixed
targets in between, and the target at the prediction (y = sigmoid(x) for logits, y = x for
probabilities), where gradients cancel. Its x axis is logarithmic in the distance from the
places where implementations break:

* logits: sign(x) (log10|x| + 3.5), so that 10^-3 <= |x| <= 10^4 fill both halves and 0 sits in
  the middle;
* probabilities: log10(x / 0.5) below 0.5 and -log10((1 - x) / 0.5) above, so that the tiny
  probabilities and those next to 1 each get their decades; x = 0 and x = 1 sit at the edges.

Its y axis is the relative error against the correctly rounded value, logarithmic, with two
bands: a result equal to the correctly rounded value is drawn at the bottom ("0"), and a result
that is not a number (NaN, infinity, or non-zero where zero is due) at the top ("NaN/inf"), with
its own marker. Divergent points (the judge's verdict) are red; the dashed line is the unit
roundoff 2^-p of the dtype. Ticks are chosen here, never by matplotlib, so that their labels do
not overlap.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.records import ScanSeries

PRECISION = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}
LOGIT_FUNCTIONS = frozenset({"binary_cross_entropy_with_logits"})
DPI = 90
LOGIT_GAP = 0.5  # axis units between 0 and |x| = 1e-3
LOGIT_LOW = -3  # log10 of the smallest non-zero |x| of the axis
STEPS = (1, 2, 5, 10, 20, 50, 100)
TICK_GAP = 0.1  # the least distance of two labelled ticks, a fraction of the axis
EDGE = 0.08  # probability axis: where x = 0 and x = 1 are drawn, beyond +-1
RC = {  # the figure's look, whatever the user's matplotlibrc says
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "svg.hashsalt": "bce-conformance",
}
SPECIAL_MARKERS = {  # (got, expected) kind -> (marker, colour, legend)
    "nan": ("X", "black", "NaN returned"),
    "inf": ("^", "darkorange", "+inf returned"),
    "-inf": ("v", "darkorange", "-inf returned"),
    "finite": ("s", "purple", "finite where the oracle gives inf/NaN"),
    "nonzero": ("P", "purple", "non-zero where 0 is due"),
}


# ---------------------------------------------------------------- axes


def _logit_position(x: float) -> float:
    if x == 0:
        return 0.0
    return math.copysign(math.log10(abs(x)) - LOGIT_LOW + LOGIT_GAP, x)


def _spread(candidates: list[tuple[float, str]], min_gap: float) -> tuple[list[float], list[str]]:
    """The candidate ticks, in order of priority, less those within ``min_gap`` of one kept
    before: labels that would overlap are dropped, never drawn over each other."""
    kept: list[tuple[float, str]] = []
    for t, label in candidates:
        if all(abs(t - k) >= min_gap for k, _ in kept):
            kept.append((t, label))
    kept.sort()
    return [t for t, _ in kept], [label for _, label in kept]


def _step(decades: float, labels: int) -> int:
    """The smallest decade step that puts at most ``labels`` labels on ``decades`` decades."""
    return next((s for s in STEPS if decades / s <= labels), STEPS[-1])


def _by_roundness(ks: list[int]) -> list[int]:
    """Decades in order of priority for a label: multiples of 10, then of 5, of 2, the rest."""
    return sorted(set(ks), key=lambda k: (-next(d for d in (10, 5, 2, 1) if k % d == 0), abs(k)))


def _decade_label(k: int) -> str:
    return {-2: "0.01", -1: "0.1", 0: "1", 1: "10", 2: "100"}.get(k, f"1e{k}")


Axis = tuple[Callable[[float], float], list[float], list[str], list[float], tuple[float, float]]


def _logit_axis(xs: list[float]) -> Axis:
    """(position, major ticks, labels, minor ticks, limits) of a logits axis: decades of |x|
    on both sides of 0."""
    top = max((math.log10(abs(x)) for x in xs if x != 0), default=0.0)
    high = max(2, math.ceil(top))
    edge = high - LOGIT_LOW + LOGIT_GAP
    candidates = [(0.0, "0")]
    for k in [high, *_by_roundness(list(range(high, LOGIT_LOW - 1, -1)))]:
        for sign in (1, -1):
            label = ("−" if sign < 0 else "") + _decade_label(k)
            candidates.append((_logit_position(sign * 10.0**k), label))
    ticks, labels = _spread(candidates, 2 * edge * TICK_GAP)
    minor = [_logit_position(s * 10.0**k) for k in range(LOGIT_LOW, high + 1) for s in (1, -1)]
    return _logit_position, ticks, labels, minor, (-edge - 0.3, edge + 0.3)


def _probability_axis(xs: list[float]) -> Axis:
    """(position, major ticks, labels, minor ticks, limits) of a probability axis: the decades
    of x below 0.5 fill the left half, those of 1 - x above 0.5 the right half; 0 and 1 are
    drawn just outside."""
    inner = [x for x in xs if 0 < x < 1]
    low = math.floor(math.log10(min(inner, default=1e-3)))
    near_one = math.floor(math.log10(min((1 - x for x in inner if x > 0.5), default=1e-3)))
    left_decades = math.log10(0.5) - low
    right_decades = math.log10(0.5) - near_one

    def position(x: float) -> float:
        if x <= 0:
            return -1.0 - EDGE
        if x >= 1:
            return 1.0 + EDGE
        if x <= 0.5:
            return math.log10(x / 0.5) / left_decades
        return -math.log10((1 - x) / 0.5) / right_decades

    candidates = [(position(0.0), "0"), (0.0, "0.5"), (position(1.0), "1")]
    for k in _by_roundness(list(range(low, 0))):
        candidates.append((position(10.0**k), _decade_label(k)))
    for k in _by_roundness(list(range(near_one, 0))):
        candidates.append((position(1 - 10.0**k), f"1−{_decade_label(k)}"))
    ticks, labels = _spread([c for c in candidates if -1 - EDGE <= c[0] <= 1 + EDGE],
                            2 * (1 + EDGE) * TICK_GAP)  # fmt: skip
    minor = [position(10.0**k) for k in range(low, 0)]
    minor += [position(1 - 10.0**k) for k in range(near_one, 0)]
    return position, ticks, labels, minor, (-1 - 2 * EDGE, 1 + 2 * EDGE)


# ---------------------------------------------------------------- points


def _target_groups(series: ScanSeries) -> list[tuple[str, np.ndarray]]:
    """(title, mask) of the four panels, told from the data: a target strictly between 0 and 1
    that recurs for many inputs is a fixed one, the others follow the prediction."""
    y = np.asarray(series.y, dtype=np.float64)
    inner = (y > 0) & (y < 1)
    values, counts = np.unique(y[inner], return_counts=True)
    recurring = values[counts >= max(2, len(set(series.x)) // 4)]
    fixed = inner & np.isin(y, recurring)
    own_title = (
        "target y = sigmoid(x), rounded" if series.function in LOGIT_FUNCTIONS else "target y = x"
    )
    fixed_title = "target y in {" + ", ".join(f"{v:.3g}" for v in recurring.tolist()) + "}"
    return [
        ("target y = 0", y == 0),
        ("target y = 1", y == 1),
        (fixed_title, fixed),
        (own_title, inner & ~fixed),
    ]


def _point_kind(series: ScanSeries, i: int) -> str:
    """'number', 'zero' (equal to the correctly rounded value), or a SPECIAL_MARKERS key."""
    rel = series.relative_error[i]
    got, expected = series.got_special[i], series.expected_special[i]
    if rel is not None:
        if rel == 0:
            return "zero"
        return "nonzero" if math.isinf(rel) else "number"
    if got == expected:
        return "zero"
    return got or "finite"


# ---------------------------------------------------------------- figure


def scan_figure(series: ScanSeries, backend: str) -> Any:
    """The figure of one series (which has points)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedFormatter, FixedLocator

    p = PRECISION.get(series.dtype, 53)
    kinds = [_point_kind(series, i) for i in range(len(series.x))]
    rel = [r for r, k in zip(series.relative_error, kinds) if k == "number"]
    floor = 2.0 ** -(p + 3)
    high = max([1.0, *rel])
    # the NaN/inf band sits a tenth of the axis above the largest error: its label stays apart
    gap = max(1, math.ceil(math.log10(high / floor) * TICK_GAP * 1.3))
    top = 10.0 ** (math.ceil(math.log10(high)) + gap)
    axis = _logit_axis if series.function in LOGIT_FUNCTIONS else _probability_axis
    position, ticks, labels, minor, limits = axis(series.x)
    decades = list(range(math.ceil(math.log10(floor)) + 1, round(math.log10(top))))
    step = _step(len(decades), 5)
    span = math.log10(top / floor)
    y_logs, y_labels = _spread(
        [(math.log10(floor), "0"), (math.log10(top), "NaN/inf")]
        + [(float(k), _decade_label(k)) for k in sorted(decades, key=abs) if k % step == 0],
        span * TICK_GAP,
    )
    y_ticks = [10.0**t for t in y_logs]

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(11, 6.2), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True, sharey=True).reshape(-1)
        what = "loss" if series.quantity == "value" else f"d loss / d {series.quantity[5:]}"
        fig.suptitle(f"{backend} · {series.function} · {series.dtype} · {what}: "
                     "relative error against the correctly rounded value")  # fmt: skip
        handles: dict[str, Any] = {}
        for ax, (title, mask) in zip(axes, _target_groups(series)):
            idx = np.flatnonzero(mask)
            ax.set_title(f"{title} ({idx.size} points)")
            _draw_panel(ax, series, kinds, idx, position, floor, top, handles)
            ax.axhline(2.0**-p, color="#888", lw=0.8, ls="--", zorder=1)
            for band in (floor, top):
                ax.axhline(band, color="#ccc", lw=0.6, zorder=0)
            ax.set_yscale("log")
            ax.set_ylim(floor / 4, top * 4)
            ax.set_xlim(*limits)
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_major_formatter(FixedFormatter(labels))
            ax.xaxis.set_minor_locator(FixedLocator(minor))
            ax.yaxis.set_major_locator(FixedLocator(y_ticks))
            ax.yaxis.set_major_formatter(FixedFormatter(y_labels))
            ax.yaxis.set_minor_locator(FixedLocator([]))
            ax.grid(True, which="major", color="#eee", lw=0.6)
        for ax in axes[2:]:
            ax.set_xlabel(
                "input x (logit), logarithmic in |x|"
                if series.function in LOGIT_FUNCTIONS
                else "input x (probability), logarithmic in x and in 1 − x"
            )
        for ax in axes[::2]:
            ax.set_ylabel("relative error")
        from matplotlib.lines import Line2D

        handles["u"] = Line2D([], [], color="#888", lw=0.8, ls="--", label=f"unit roundoff 2^-{p}")
        fig.legend(handles=list(handles.values()), loc="outside lower center", ncols=4)
    return fig


def _draw_panel(ax: Any, series: ScanSeries, kinds: list[str], idx: np.ndarray,
                position: Callable[[float], float], floor: float, top: float,
                handles: dict[str, Any]) -> None:  # fmt: skip
    divergent = [series.verdict[i] != "conforms" for i in range(len(series.x))]
    groups: dict[str, tuple[list[float], list[float]]] = {}
    for i in idx.tolist():
        kind = kinds[i]
        if kind in ("number", "zero"):
            key = "divergent" if divergent[i] else "conforms"
            value = floor if kind == "zero" else series.relative_error[i]
        else:
            key, value = kind, top
        xs, ys = groups.setdefault(key, ([], []))
        xs.append(position(series.x[i]))
        ys.append(value)
    for key in ("conforms", "divergent", *SPECIAL_MARKERS):
        if key not in groups:
            continue
        xs, ys = groups[key]
        if key == "conforms":
            style = {"marker": "o", "s": 7, "c": "tab:blue", "alpha": 0.55, "linewidths": 0}
            label = "within tolerance"
        elif key == "divergent":
            style = {"marker": "x", "s": 22, "c": "red", "linewidths": 1.1}
            label = "divergent"
        else:
            marker, colour, label = SPECIAL_MARKERS[key]
            style = {"marker": marker, "s": 34, "c": colour, "linewidths": 0.5,
                     "edgecolors": "red"}  # fmt: skip
        h = ax.scatter(xs, ys, label=label, zorder=3 if key != "conforms" else 2, **style)
        handles.setdefault(label, h)


def png_data_uri(fig: Any) -> str:
    """The figure as a PNG data URI; the same figure gives the same bytes (no metadata)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
