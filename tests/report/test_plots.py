"""The scan's figures: every panel has points, ticks come from us, the bytes are the same."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from conformance.backends.numpy_kernel import NumpyKernelBackend  # noqa: E402
from conformance.hunt.scan import scan  # noqa: E402
from conformance.records import AuditReport, BackendRun  # noqa: E402
from conformance.report import report_html  # noqa: E402
from conformance.report.plots import png_data_uri, scan_figure  # noqa: E402

FUNCTIONS = ("binary_cross_entropy_with_logits", "binary_cross_entropy")


def scans(function: str, dtype: str = "float16"):
    backend = NumpyKernelBackend()
    return scan(backend, backend.evaluate, function, dtype)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_panel_of_a_figure_has_points(function):
    series = next(s for s in scans(function) if s.quantity == "grad_input")
    fig = scan_figure(series, "numpy")
    for ax in fig.axes:
        drawn = sum(len(c.get_offsets()) for c in ax.collections)
        assert drawn > 0, ax.get_title()
    assert sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections) == len(series.x)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_tick_labels_are_ours_and_do_not_repeat(function):
    series = scans(function, "float32")[0]
    fig = scan_figure(series, "numpy")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[2]  # bottom left: the x labels are drawn on the bottom row
    labels = [t.get_text() for t in ax.xaxis.get_ticklabels()]
    assert "0" in labels and len(labels) == len(set(labels)) >= 5
    positions = sorted(ax.get_xticks())
    width = ax.get_xlim()[1] - ax.get_xlim()[0]
    assert min(b - a for a, b in zip(positions, positions[1:])) >= 0.09 * width
    assert [t.get_text() for t in ax.yaxis.get_ticklabels()][::len(ax.get_yticks()) - 1] == [
        "0", "NaN/inf"]  # fmt: skip


def test_the_same_scan_gives_the_same_png_bytes():
    series = scans("binary_cross_entropy")[0]
    assert png_data_uri(scan_figure(series, "numpy")) == png_data_uri(scan_figure(series, "numpy"))


def test_html_has_one_figure_per_series_with_points():
    run = BackendRun("numpy", "1", "cpu", "completed", scans=scans("binary_cross_entropy"))
    html = report_html.render_html(AuditReport("0", "oracle", "dev", 0, "today", [run]))
    assert html.count("<img ") == len(run.scans) == 4  # value, input, target, weight
    assert "0 divergent" in html
