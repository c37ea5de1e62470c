"""Parts of one backend's audit (the pytest plugin's items, render's shards) merge as audit
lists its records."""

from conformance.hunt.run_merge import merge_backend_runs
from conformance.records import BackendRun, PurposeCount, ScanSeries

LOGITS = "binary_cross_entropy_with_logits"
BCE = "binary_cross_entropy"


def _part(purpose: str, function: str, dtype: str) -> BackendRun:
    run = BackendRun("toy", "1", "cpu", "completed")
    run.purposes = [PurposeCount(function, dtype, purpose, 1, 1, 0, 1)]
    run.scans = [ScanSeries(function, dtype, "value", x=[0.5], y=[0.0])]
    return run


def test_an_error_scan_every_part_of_a_cell_ran_is_kept_once():
    merged = merge_backend_runs([_part("value", BCE, "float32"), _part("edge", BCE, "float32")])
    assert [(s.function, s.dtype, s.quantity) for s in merged.scans] == [(BCE, "float32", "value")]


def test_purposes_are_listed_by_function_then_dtype_a_cells_in_the_parts_order():
    parts = [_part("value", LOGITS, "float32"), _part("value", BCE, "float16"),
             _part("edge", BCE, "float64"), _part("value", BCE, "float64")]  # fmt: skip
    merged = merge_backend_runs(parts)
    assert [(p.function, p.dtype, p.purpose) for p in merged.purposes] == [
        (BCE, "float64", "edge"),
        (BCE, "float64", "value"),
        (BCE, "float16", "value"),
        (LOGITS, "float32", "value"),
    ]
