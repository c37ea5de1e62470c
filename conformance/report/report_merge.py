"""One audit report from the reports of its shards: an audit split by ``--function``,
``--dtype`` or ``--purpose`` across processes, machines or sessions (``bce-conformance render
A.json B.json … --report-stem S``).

The shards must be of one tool version, profile and seed, and hunt disjoint (function, dtype,
purpose) cells; each backend's runs are merged as the pytest plugin merges its items'
(conformance.hunt.run_merge.merge_backend_runs): cases, comparisons and verdict counts summed,
classes merged by id. Classes are per (function, dtype), so shards split by function or dtype
give the classes, counts and examples of the whole audit; merge_backend_runs lists the purposes
by function and dtype as the audit visits them and each error scan once, so shards split by
function or dtype merge into the whole audit's report byte for byte. Shards split by purpose, given in the
audit's purpose order, give the same counts, classes and purpose list (a class found by two
purposes of one cell keeps the example of the shard given first). (With the deep profile's ``spread``, a backend
that declines some dtypes gets the spread of the dtypes each shard requested: shard it by
function, not by dtype.)
"""

from __future__ import annotations

from conformance.hunt.run_merge import merge_backend_runs
from conformance.records import AuditReport


class MergeError(ValueError):
    """Shards that do not make one audit (message for the user)."""


def merge_reports(reports: list[tuple[str, AuditReport]]) -> AuditReport:
    """The audit whose shards are ``reports`` (name, report), in the given order."""
    if not reports:
        raise MergeError("no reports to merge")
    first_name, first = reports[0]
    for name, report in reports[1:]:
        for field in ("tool_version", "profile", "seed"):
            if getattr(report, field) != getattr(first, field):
                raise MergeError(
                    f"{name} has {field} {getattr(report, field)!r}, {first_name} has "
                    f"{getattr(first, field)!r}: shards of one audit share them"
                )
    by_backend: dict[tuple[str, str, str], list] = {}
    seen: dict[tuple, str] = {}
    for name, report in reports:
        for run in report.runs:
            key = (run.backend, run.version, run.device)
            for p in run.purposes:
                cell = (*key, p.function, p.dtype, p.purpose)
                if cell in seen and seen[cell] != name:
                    raise MergeError(
                        f"{name} and {seen[cell]} both hunt {run.backend} {p.function} "
                        f"{p.dtype} {p.purpose}: shards must hunt disjoint cells"
                    )
                seen[cell] = name
            by_backend.setdefault(key, []).append(run)
    return AuditReport(
        tool_version=first.tool_version,
        oracle=first.oracle,
        profile=first.profile,
        seed=first.seed,
        created=max(r.created for _, r in reports),
        runs=[merge_backend_runs(runs) for runs in by_backend.values()],
    )
