"""Build reports/baseline.json from audit reports, explained by the causes the findings attach.

    python reports/make_baseline.py reports/*-deep.json reports/ci/*.json -o reports/baseline.json

Each divergence class is attributed by conformance.findings (a cause whose kernel formula
reproduces the recorded outputs bit for bit, or a stated probe); its baseline explanation is
the cause, its mechanism, the evidence and the kernel source. A class no cause explains is
printed and the script exits 1 without writing, unless --allow-unexplained is given (then the
class enters the baseline as "unexplained"). Identity violations come from
conformance/findings/identities.py. Bad input: a one-line message, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.baseline import BaselineError, baseline_from_report  # noqa: E402
from conformance.findings import attach_causes  # noqa: E402
from conformance.findings.causes import UNEXPLAINED  # noqa: E402
from conformance.findings.identities import IDENTITY_VIOLATIONS  # noqa: E402
from conformance.records import AuditReport, BackendRun, DivergenceClass  # noqa: E402
from conformance.report.report_json import ReportValidationError, load_json_report  # noqa: E402


def explanation(cls: DivergenceClass) -> str:
    """The baseline text of an attributed class: cause, mechanism, evidence, source."""
    if cls.cause == UNEXPLAINED:
        return f"{UNEXPLAINED}: {cls.evidence}"
    text = f"{cls.cause}: {cls.mechanism} ({cls.evidence}"
    return text + (f"; {cls.source})" if cls.source else ")")


def merged_runs(paths: list[Path]) -> dict[str, BackendRun]:
    """One run per backend, the classes of every report (first occurrence of an id wins)."""
    runs: dict[str, BackendRun] = {}
    for path in paths:
        for run in load_json_report(path).runs:
            if run.backend in runs:
                seen = {d.class_id for d in runs[run.backend].divergences}
                runs[run.backend].divergences += [
                    d for d in run.divergences if d.class_id not in seen
                ]
            else:
                runs[run.backend] = run
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument(
        "--allow-unexplained",
        action="store_true",
        help="baseline classes no cause explains (as 'unexplained') instead of refusing",
    )
    args = parser.parse_args(argv)
    try:
        runs = merged_runs(args.reports)
    except (OSError, ReportValidationError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    combined = AuditReport("", "", "", 0, "", runs=list(runs.values()))
    if any(not d.cause for run in combined.runs for d in run.divergences):
        combined = attach_causes(combined)  # reports written before causes were attached
    unexplained = [
        f"{run.backend}: {d.class_id}"
        for run in combined.runs
        for d in run.divergences
        if d.cause == UNEXPLAINED
    ]
    if unexplained and not args.allow_unexplained:
        print("divergence classes no cause explains (conformance/findings/causes.py):")
        print("\n".join("  " + u for u in sorted(unexplained)))
        return 1
    explanations = {
        f"{run.backend}::{d.class_id}": explanation(d)
        for run in combined.runs
        for d in run.divergences
    }
    try:
        merged = baseline_from_report(combined, explanations)
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for backend, classes in IDENTITY_VIOLATIONS.items():
        if backend in merged["backends"]:
            merged["backends"][backend]["classes"].update(
                {cid: {"explanation": text} for cid, text in classes.items()}
            )
    args.output.write_text(json.dumps(merged, indent=1, sort_keys=True, allow_nan=False) + "\n")
    total = sum(len(r.divergences) for r in combined.runs)
    print(
        f"wrote {args.output}: {total} classes over {len(runs)} backend(s), "
        f"{len(unexplained)} unexplained"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
