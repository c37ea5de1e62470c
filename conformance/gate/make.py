"""Build a baseline file from audit reports, each class explained by the cause the findings attach.

    python -m conformance.gate.make reports/*-deep.json reports/ci/*.json -o reports/baseline.json

(``python reports/make_baseline.py`` is the same command.) Each divergence class is attributed by
conformance.findings (a cause whose kernel formula reproduces the recorded outputs bit for bit,
or a stated probe); its baseline explanation is the cause, its mechanism, the evidence and the
kernel source (conformance.findings.attribution.baseline_explanation). A class no cause explains
is printed and the command exits 1 without writing, unless --allow-unexplained is given (then the
class enters the baseline as "unexplained"). Identity violations come from
conformance/findings/identities.py. Bad input: a one-line message, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from conformance.findings import attach_causes
from conformance.findings.attribution import baseline_explanation
from conformance.findings.causes import UNEXPLAINED
from conformance.findings.identities import IDENTITY_VIOLATIONS
from conformance.gate.baseline import BaselineError, baseline_from_report
from conformance.records import AuditReport, BackendRun
from conformance.report.report_json import ReportValidationError, load_json_report


def merged_runs(
    paths: list[Path], found_by: dict[str, set[str]] | None = None
) -> dict[str, BackendRun]:
    """One run per backend, the classes of every report (first occurrence of an id wins).
    ``found_by`` (when given) collects, per ``"<backend>::<class_id>"``, the profiles of the
    reports that hold the class."""
    runs: dict[str, BackendRun] = {}
    for path in paths:
        report = load_json_report(path)
        for run in report.runs:
            if found_by is not None and report.profile:
                for d in run.divergences:
                    found_by.setdefault(f"{run.backend}::{d.class_id}", set()).add(report.profile)
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
        found_by: dict[str, set[str]] = {}
        runs = merged_runs(args.reports, found_by)
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
        f"{run.backend}::{d.class_id}": baseline_explanation(d)
        for run in combined.runs
        for d in run.divergences
    }
    try:
        merged = baseline_from_report(
            combined, explanations, profiles={k: sorted(v) for k, v in found_by.items()}
        )
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for backend, classes in IDENTITY_VIOLATIONS.items():
        if backend in merged["backends"]:
            merged["backends"][backend]["classes"].update(
                {
                    cid: {"explanation": text, "profiles": ["identities"]}
                    for cid, text in classes.items()
                }
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
