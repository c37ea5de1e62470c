"""Print the cross-framework matrix: each cause (and "unexplained") × each backend.

    python reports/cause_matrix.py reports/torch-deep.json reports/paddle-deep.json \
        reports/numpy-deep.json reports/ci/jax-ci.json

A cell holds ``classes / cases`` of that cause in that backend's report (— where none). The
causes are those the reports' classes were attributed to (conformance.findings: a cause is
given only where a model of the backend's kernel reproduces the recorded outputs bit for bit,
so a mechanism the registry models for one framework only shows as "unexplained" in another
until a model of that framework's kernel reproduces it). Reports of different profiles are
different budgets: the profile is in each column's heading.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.report.report_json import ReportValidationError, load_json_report  # noqa: E402


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python reports/cause_matrix.py REPORT.json ...", file=sys.stderr)
        return 2
    columns: list[str] = []
    cells: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for path in paths:
        try:
            report = load_json_report(path)
        except (OSError, ReportValidationError) as exc:
            print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        for run in report.runs:
            column = f"{run.backend} ({report.profile})"
            columns.append(column)
            for cls in run.divergences:
                slot = cells[cls.cause or "unexplained"].setdefault(column, [0, 0])
                slot[0] += 1
                slot[1] += cls.count
    print("| cause | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    shared = sorted(cells, key=lambda c: (c == "unexplained", -len(cells[c]), c))
    for cause in shared:
        row = [
            f"{cells[cause][c][0]} / {cells[cause][c][1]}" if c in cells[cause] else "—"
            for c in columns
        ]
        print(f"| `{cause}` | " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
