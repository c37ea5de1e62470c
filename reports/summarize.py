"""Print the Markdown summary of what each framework gets wrong, cause by cause.

    python reports/summarize.py reports/*-deep.json

For each backend: the audit's size, then one row per cause (conformance.findings attributes
each divergence class by reproducing its recorded outputs): tier, classes, cases, dtypes,
quantities, the mechanism and one example class. This is the table in reports/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.findings import attach_causes  # noqa: E402
from conformance.report.by_cause import cause_groups  # noqa: E402
from conformance.report.report_json import ReportValidationError, load_json_report  # noqa: E402


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python reports/summarize.py REPORT.json ...", file=sys.stderr)
        return 2
    for path in paths:
        try:
            report = load_json_report(path)
            if any(not c.cause for r in report.runs for c in r.divergences):
                report = attach_causes(report)  # older reports: attribute now
        except (OSError, ReportValidationError) as exc:
            print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        for run in report.runs:
            print(
                f"### {run.backend} {run.version} ({run.device}), profile {report.profile}, "
                f"seed {report.seed}"
            )
            print()
            print(
                f"{run.cases} cases, {len(run.divergences)} divergence classes, "
                f"status {run.status}."
            )
            print()
            print("| cause | tier | classes | cases | dtypes | quantities | mechanism | example |")
            print("|---|---|---:|---:|---|---|---|---|")
            for g in cause_groups(run):
                example = g.representative.class_id
                print(
                    f"| `{g.cause}` | {g.tier} | {len(g.classes)} | {g.cases} | "
                    f"{', '.join(g.dtypes)} | {', '.join(g.quantities)} | {g.mechanism} | "
                    f"`{example}` |"
                )
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
