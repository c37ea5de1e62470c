"""The command line: ``bce-conformance run | audit | replay | render | sweep`` (also
``python -m conformance``).

Exit codes, for every command:
  0  conforms (run), reports written (audit), every replayed case conforms (replay);
     with ``--baseline``: no divergence class outside the baseline
  1  divergences (run, replay); with ``--baseline``: a divergence class not in the baseline
  2  usage or setup error: unknown backend, dtype or function, unreadable cases or baseline
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import sys
from pathlib import Path

from conformance import __version__
from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.hunt.purposes import PURPOSES

EXIT_OK, EXIT_DIVERGES, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


def _positive_seconds(text: str) -> float:
    """argparse type of --timeout: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return value


def _check_report_destination(args) -> None:
    """Before any audit: the report folder is usable and the stem names a file inside it."""
    stem = args.report_stem
    if stem is not None and args.report_dir is None:
        raise UsageError("--report-stem needs --report-dir (where to write the reports)")
    if stem is not None and (
        not stem or "/" in stem or "\\" in stem or stem in (".", "..") or stem.startswith(".")
    ):
        raise UsageError(f"--report-stem: {stem!r} must be a plain file name (no folders)")
    if args.report_dir is None:
        return
    from conformance.report.report_files import unwritable_folder

    problem = unwritable_folder(args.report_dir)
    if problem is not None:
        raise UsageError(f"--report-dir: {problem}")
    try:
        import jsonschema  # noqa: F401  (the JSON report is validated before it is written)
        import matplotlib  # noqa: F401  (the HTML report's plots)
    except ImportError as exc:
        raise UsageError(
            f"writing reports needs {exc.name}: pip install 'bce-conformance[reports]'"
        ) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bce-conformance",
        description="Check implementations of the binary cross-entropy losses against a certified oracle.",
    )
    p.add_argument("--version", action="version", version=f"bce-conformance {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, many_backends: bool) -> None:
        sp.add_argument(
            "--backend",
            action="append" if many_backends else "store",
            required=True,
            help="numpy | torch | torch-cuda | paddle | paddle-gpu | package.module:attr | an installed plugin's name",
        )
        sp.add_argument(
            "--timeout",
            type=_positive_seconds,
            default=120.0,
            help="seconds per backend call (default 120)",
        )
        sp.add_argument(
            "--in-process",
            action="store_true",
            help="call the backend in this process (no crash/hang isolation)",
        )

    for name, help_text in (
        ("run", "hunt divergences; exit 1 if any (with --baseline: if any new)"),
        ("audit", "hunt divergences and write JSON, Markdown and HTML reports"),
    ):
        sp = sub.add_parser(name, help=help_text)
        common(sp, many_backends=True)
        sp.add_argument(
            "--profile", choices=("ci", "dev", "deep"), default="ci" if name == "run" else "dev"
        )
        sp.add_argument(
            "--seed",
            type=int,
            default=0,
            help="seed of the case generator (same seed, same cases, verdicts and reports)",
        )
        sp.add_argument(
            "--function",
            action="append",
            choices=FUNCTIONS,
            help="restrict to this function (repeatable)",
        )
        sp.add_argument(
            "--dtype", action="append", choices=DTYPES, help="restrict to this dtype (repeatable)"
        )
        sp.add_argument(
            "--purpose",
            action="append",
            choices=PURPOSES,
            help="restrict the hunt to cases of this purpose (repeatable; default: all)",
        )
        sp.add_argument(
            "--baseline", type=Path, help="baseline of known divergence classes: gate on new ones"
        )
        sp.add_argument(
            "--report-dir",
            type=Path,
            default=None if name == "run" else Path("reports"),
            help="write reports here" + (" (default: reports/)" if name == "audit" else ""),
        )
        sp.add_argument(
            "--report-stem",
            default=None,
            help="file name stem of the reports (default: from the backends)",
        )
        sp.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
        sp.add_argument(
            "--timings",
            action="store_true",
            help="write the creation time and each run's seconds into the reports (they then "
            "differ from run to run; by default the same seed gives byte-identical reports)",
        )
        sp.add_argument(
            "--strict",
            action="store_true",
            help="count every tier (also convention and out-of-contract divergences)",
        )

    sp = sub.add_parser(
        "render",
        help="attribute the classes of a JSON report again and rewrite its JSON, Markdown and HTML",
    )
    sp.add_argument(
        "report",
        type=Path,
        nargs="+",
        help="an audit report (JSON) written by `audit`; several: the shards of one audit "
        "(split by --function, --dtype or --purpose), merged into one report",
    )
    sp.add_argument(
        "--report-dir", type=Path, default=None, help="write here (default: the report's folder)"
    )
    sp.add_argument(
        "--report-stem", default=None, help="file name stem (default: the report's own)"
    )
    sp.add_argument(
        "--timings",
        action="store_true",
        help="keep the report's creation time and seconds (default: written without them)",
    )

    from conformance.cli_sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)

    sp = sub.add_parser("replay", help="evaluate the cases of a JSON file and print each verdict")
    common(sp, many_backends=False)
    sp.add_argument("cases", type=Path, help="JSON list of cases (see README)")
    sp.add_argument("--json", action="store_true", help="print a JSON list of verdicts")
    return p


def _runner(spec: str, backend, args):
    from conformance.backends.isolation import IsolatedRunner, evaluate_in_process

    if args.in_process:
        return lambda call: evaluate_in_process(backend, call), (lambda: None)
    runner = IsolatedRunner(spec, timeout_s=args.timeout)
    return runner, runner.close


def _load(spec: str):
    from conformance.backends.plugins import BackendSetupError, load_backend

    # A plugin module in the current folder imports as it would under ``python -m``.
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)
    # A plugin that prints while it loads must not corrupt --json output: its prints go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        return _load_quietly(spec, load_backend, BackendSetupError)


def _load_quietly(spec: str, load_backend, BackendSetupError):
    try:
        return load_backend(spec)
    except BackendSetupError as exc:
        raise UsageError(str(exc)) from None


def _audit(args) -> int:
    from conformance.hunt.audit import audit_backend
    from conformance.hunt.profiles import PROFILES
    from conformance.records import AuditReport, BackendRun

    _check_report_destination(args)
    baseline = None
    if args.baseline is not None:
        from conformance.gate.baseline import BaselineError, load_baseline

        try:
            baseline = load_baseline(args.baseline)
        except BaselineError as exc:
            raise UsageError(str(exc)) from None
    backends = [(spec, _load(spec)) for spec in args.backend]
    profile = PROFILES[args.profile]
    report = AuditReport(
        tool_version=__version__,
        oracle="mpmath interval arithmetic, certified correct rounding (oracle/)",
        profile=profile.name,
        seed=args.seed,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    for spec, backend in backends:
        try:
            runner, close = _runner(spec, backend, args)
        except Exception as exc:  # the worker could not load the backend
            report.runs.append(
                BackendRun(backend.name, backend.version, backend.device, "setup_error", str(exc))
            )
            continue
        try:
            run = audit_backend(
                backend,
                profile,
                seed=args.seed,
                functions=tuple(args.function or FUNCTIONS),
                dtypes=tuple(args.dtype or DTYPES),
                purposes=tuple(args.purpose or PURPOSES),
                runner=runner,
                progress=None,
                progress_bar=not args.quiet,
                spec=spec,
            )
        finally:
            close()
        report.runs.append(run)
        if not args.quiet:
            sys.stderr.write("\n" if sys.stderr.isatty() else "")
    from conformance.findings import attach_causes

    attach_causes(report)  # each class's cause, checked bit for bit on its examples
    if args.report_dir is not None:
        from conformance.report.report_files import write_reports

        stem = args.report_stem or "-".join(r.backend + "-" + r.version for r in report.runs)
        written = write_reports(report, args.report_dir, stem, timings=args.timings)
        for path in written.values():
            print(f"wrote {path}")
    specs = dict(zip((r.backend for r in report.runs), args.backend))
    return _verdict(report, baseline, args.command, args.strict, specs)


def _render(args) -> int:
    """``render REPORT.json …``: the same records, causes attached by the current registry,
    written again (the audit's own writers; nothing is re-run against a backend). Several
    reports are the shards of one audit: merged (conformance.report.report_merge)."""
    from conformance.findings import attach_causes
    from conformance.report.report_files import write_reports
    from conformance.report.report_json import ReportValidationError, load_json_report
    from conformance.report.report_merge import MergeError, merge_reports

    paths = args.report
    if len(paths) > 1 and args.report_stem is None:
        raise UsageError("render: several reports are merged into one: give --report-stem")
    if args.report_dir is None:
        args.report_dir = paths[0].parent
    stem = args.report_stem if args.report_stem is not None else paths[0].stem
    args.report_stem = stem
    _check_report_destination(args)
    loaded = []
    for path in paths:
        try:
            loaded.append((str(path), load_json_report(path)))
        except (OSError, ReportValidationError) as exc:
            raise UsageError(f"{path}: {str(exc).splitlines()[0]}") from None
    try:
        report = merge_reports(loaded) if len(loaded) > 1 else loaded[0][1]
    except MergeError as exc:
        raise UsageError(f"render: {exc}") from None
    attach_causes(report)
    for path in write_reports(report, args.report_dir, stem, timings=args.timings).values():
        print(f"wrote {path}")
    return EXIT_OK


def _verdict(report, baseline, command: str, strict: bool, specs: dict[str, str]) -> int:
    from conformance.findings.tiers import counted_tiers
    from conformance.run_summary import summarize_run

    counted = counted_tiers(strict)
    if baseline is not None:
        from conformance.gate.baseline import gate

        result = gate(report, baseline, counted)
        print(result.render())
        return result.exit_code
    diverging = 0
    for run in report.runs:
        diverging += sum(d.tier in counted for d in run.divergences)
        diverging += run.status != "completed"
        for line in summarize_run(run, counted, specs.get(run.backend, run.backend)):
            print(line)
    if command == "audit":
        return EXIT_OK
    return EXIT_DIVERGES if diverging else EXIT_OK


class _Overflow(ValueError):
    pass


def _finite_float(text: str) -> float:
    """JSON numbers are read as float64; one beyond its range (1e400) is refused, not inf."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Overflow(
            f'the number {text} is beyond float64\'s range; write "inf" if infinity is meant'
        )
    return value


def _replay(args) -> int:
    from conformance.cases import Case, CaseError
    from conformance.judge.evaluate import evaluate_case

    try:
        data = json.loads(args.cases.read_text(), parse_float=_finite_float)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.cases}: cannot read a JSON list of cases ({exc})") from None
    except _Overflow as exc:
        raise UsageError(f"{args.cases}: {exc}") from None
    if not isinstance(data, list):
        raise UsageError(f"{args.cases}: expected a JSON list of cases, got {type(data).__name__}")
    if not data:
        raise UsageError(f"{args.cases}: the list of cases is empty")
    cases = []
    for i, item in enumerate(data):
        try:
            cases.append(Case.from_json(item))
        except CaseError as exc:
            raise UsageError(f"{args.cases}: case {i}: {exc}") from None
    backend = _load(args.backend)
    runner, close = _runner(args.backend, backend, args)
    rows = []
    try:
        for i, case in enumerate(cases):
            if case.target.size >= 100_000:  # long: say so (minutes for millions of elements)
                print(
                    f"replay: case {i}: {case.target.size} elements, evaluating ...",
                    file=sys.stderr,
                    flush=True,
                )
            results = evaluate_case(backend, case, runner)
            if results is None:
                rows.append(
                    {
                        "index": i,
                        "verdict": "undecided",
                        "detail": "the oracle does not decide this point",
                    }
                )
                continue
            worst = next((r for r in results if r.verdict != "conforms"), results[0])
            row = {"index": i, "verdict": worst.verdict}
            row["quantities"] = [
                {
                    "quantity": r.quantity,
                    "verdict": r.verdict,
                    "regime": r.regime,
                    **(
                        {
                            "ulp": r.comparison.ulp,
                            "expected": r.comparison.expected,
                            "got": r.comparison.got,
                        }
                        if r.comparison is not None
                        else {}
                    ),
                    **({"error": r.error} if r.error else {}),
                }
                for r in results
            ]
            rows.append(row)
    finally:
        close()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            line = f"case {row['index']}: {row['verdict']}"
            for q in row.get("quantities", []):
                if q["verdict"] != "conforms":
                    line += f"\n  {q['quantity']}: {q['verdict']} ({q['regime']})"
                    if "ulp" in q:
                        line += f" expected {q['expected']} got {q['got']} ({q['ulp']:g} ULP)"
                    if "error" in q:
                        line += f" {q['error']}"
            print(line)
    return (
        EXIT_OK if all(r["verdict"] in ("conforms", "unsupported") for r in rows) else EXIT_DIVERGES
    )


def main(argv: list[str] | None = None) -> int:
    from conformance.report.report_files import ReportWriteError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return EXIT_USAGE if exc.code else EXIT_OK
    try:
        if args.command == "replay":
            return _replay(args)
        if args.command == "render":
            return _render(args)
        if args.command == "sweep":
            from conformance.cli_sweep import run_sweep_command

            return run_sweep_command(args, _load, UsageError)
        return _audit(args)
    except UsageError as exc:
        print(f"bce-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ReportWriteError as exc:  # what was written stays; the message names the rest
        print(f"bce-conformance: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bce-conformance: interrupted", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
