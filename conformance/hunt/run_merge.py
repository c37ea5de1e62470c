"""One backend's audit from audits of its parts (the pytest plugin hunts one (function, dtype,
purpose) cell per test item): the same records ``audit`` would hold, summed."""

from __future__ import annotations

from collections import defaultdict

from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.records import BackendRun, ScanSeries, VerdictCount


def merge_backend_runs(runs: list[BackendRun]) -> BackendRun:
    """The runs of one backend as one: cases, seconds, comparisons and verdict counts summed
    (the largest ULP kept), divergence classes merged by id (counts summed, the first minimal
    example kept, the worst example of largest ULP), coverage rows summed per cell, purposes and
    untested cells listed as ``audit`` lists them (purposes by function, then dtype, a cell's in
    the runs' order; untested cells sorted), each error scan once (every part of a profile with
    the scan runs the same scan of its cells). A run that did not complete gives the merged run
    its status."""
    if not runs:
        raise ValueError("no runs to merge")
    first = runs[0]
    merged = BackendRun(first.backend, first.version, first.device, "completed")
    counts: dict[tuple, list] = {}
    classes: dict[str, object] = {}
    coverage: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for run in runs:
        if run.status != "completed" and merged.status == "completed":
            merged.status, merged.message = run.status, run.message
        merged.cases += run.cases
        merged.seconds = round(merged.seconds + run.seconds, 1)
        merged.value_comparisons += run.value_comparisons
        merged.contract_checks += run.contract_checks
        merged.purposes += run.purposes
        merged.untested += run.untested
        merged.scans += run.scans
        merged.scan += run.scan
        for c in run.counts:
            key = (c.function, c.dtype, c.quantity, c.verdict)
            slot = counts.setdefault(key, [0, None])
            slot[0] += c.count
            if c.max_ulp is not None and (slot[1] is None or c.max_ulp > slot[1]):
                slot[1] = c.max_ulp
        for row in run.coverage:
            cell = coverage[tuple(row[:-2])]
            cell[0] += row[-2]
            cell[1] += row[-1]
        for cls in run.divergences:
            known = classes.get(cls.class_id)
            if known is None:
                classes[cls.class_id] = cls
                continue
            known.count += cls.count
            if cls.max_ulp is not None and (known.max_ulp is None or cls.max_ulp > known.max_ulp):
                known.max_ulp, known.worst = cls.max_ulp, cls.worst
    merged.counts = [VerdictCount(*k, count=v[0], max_ulp=v[1]) for k, v in sorted(counts.items())]
    merged.divergences = [classes[k] for k in sorted(classes)]
    merged.untested = sorted(merged.untested, key=lambda row: row[:-1])
    merged.purposes.sort(key=lambda p: (_rank(FUNCTIONS, p.function), _rank(DTYPES, p.dtype)))
    merged.scans = _once_each(merged.scans)
    merged.coverage = [[*cell, *n] for cell, n in sorted(coverage.items(), key=lambda kv: kv[0])]
    return merged


def _rank(order: tuple[str, ...], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _once_each(scans: list[ScanSeries]) -> list[ScanSeries]:
    """The first series of each (function, dtype, quantity)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for series in scans:
        key = (series.function, series.dtype, series.quantity)
        if key not in seen:
            seen.add(key)
            out.append(series)
    return out
