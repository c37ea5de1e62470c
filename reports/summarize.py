"""Print the Markdown summary of what each framework gets wrong, from the audit reports.

    python reports/summarize.py reports/*-deep.json

For each backend: the audit's size, then its divergence classes grouped by the explanation they
carry in reports/make_baseline.py, with the number of classes, the dtypes they occur in and one
example class id. This is the table in reports/README.md.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_baseline import explain  # noqa: E402

from conformance.report.report_json import load_json_report  # noqa: E402


def main(paths: list[str]) -> int:
    for path in paths:
        report = load_json_report(path)
        for run in report.runs:
            print(
                f"### {run.backend} {run.version} ({run.device}), profile {report.profile}, seed {report.seed}"
            )
            print()
            print(
                f"{run.cases} cases, {len(run.divergences)} divergence classes, status {run.status}."
            )
            print()
            groups: dict[str, list] = defaultdict(list)
            for d in run.divergences:
                groups[explain(run.backend, d.class_id) or "(unexplained)"].append(d)
            print("| classes | dtypes | what goes wrong | example class |")
            print("|---:|---|---|---|")
            for text, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                dtypes = ", ".join(sorted({m.dtype for m in members}))
                example = max(members, key=lambda m: m.count).class_id
                print(f"| {len(members)} | {dtypes} | {text} | `{example}` |")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
