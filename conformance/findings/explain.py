"""Explain the divergence classes of an audit report by cause, from its records alone.

    python -m conformance.findings.explain REPORT.json [--backend torch] [--control]

Prints, per backend, how many classes and cases each cause explains, then every class no cause
explains. ``--control`` moves each recorded output one ulp first: a sound registry then
explains 0 classes (exit status 1 if it explains any). Bad input: a one-line message, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from conformance.findings.attribution import attribute
from conformance.findings.causes import UNEXPLAINED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.findings.explain", description=__doc__.splitlines()[0]
    )
    parser.add_argument("report", help="an audit report (JSON)")
    parser.add_argument("--backend", help="only this backend's run")
    parser.add_argument(
        "--control", action="store_true", help="perturb the recorded outputs by one ulp first"
    )
    args = parser.parse_args(argv)
    from conformance.report.report_json import ReportValidationError, load_json_report

    try:
        report = load_json_report(args.report)
    except (OSError, ReportValidationError) as exc:
        print(f"error: {args.report}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    runs = [r for r in report.runs if args.backend in (None, r.backend)]
    if not runs:
        known = ", ".join(r.backend for r in report.runs) or "none"
        print(
            f"error: no run of backend {args.backend!r} in {args.report} (runs: {known})",
            file=sys.stderr,
        )
        return 2
    explained_total = 0
    for run in runs:
        classes: Counter[str] = Counter()
        cases: Counter[str] = Counter()
        unexplained = []
        for cls in run.divergences:
            a = attribute(run.backend, cls, control=args.control)
            classes[a.cause_id] += 1
            cases[a.cause_id] += cls.count
            if a.cause_id == UNEXPLAINED:
                unexplained.append(cls.class_id)
        explained = len(run.divergences) - len(unexplained)
        explained_total += explained
        control = " (control: outputs moved one ulp)" if args.control else ""
        print(f"{run.backend}: {explained} of {len(run.divergences)} classes explained{control}")
        for cause_id, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0])):
            if cause_id != UNEXPLAINED:
                print(f"  {n:4d} classes {cases[cause_id]:6d} cases  {cause_id}")
        print(f"  {len(unexplained):4d} classes {cases[UNEXPLAINED]:6d} cases  {UNEXPLAINED}")
        for class_id in unexplained:
            print(f"         {class_id}")
    return 1 if args.control and explained_total else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing left to say
        sys.stderr.close()
        sys.exit(0)
