"""The mutation score: does the default hunt catch every single-bug mutant, at every seed?

    python -m tests.mutation.score --profile ci --seeds 0 1 2 3 4 [--markdown] [--only NAME ...]

For the reference and each mutant, at each seed, runs ``python -m conformance run --backend
tests.mutation.mutants:NAME --profile P --seed S`` in a subprocess (``--in-process`` inside it,
so one process per run) and reads the divergence classes from its JSON report. A mutant is
*caught* at a seed when its run reports a divergence class of a tier the default run counts
(defect or contract: conformance/findings/tiers.py) that the reference's run at the same seed
does not; classes of the other tiers (convention, out-of-contract) are recorded apart ("caught
only outside the contract"). The reference must show no counted class at any seed. Prints one
row per mutant; exits 1 if a mutant escapes at some seed or the reference diverges at some seed,
2 on a usage error (``--run-args`` passes more options, e.g. ``--run-args "--timeout 30"``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance.findings.tiers import COUNTED_BY_DEFAULT
from tests.mutation.mutants import DEFAULT_SCORED, MUTANTS

REFERENCE = "tests.mutation.reference"
SUBPROCESS = [False]  # --subprocess: one `conformance run` process per run (slower, isolated)
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """One CLI run: its exit status and the divergence classes it reported."""

    spec: str
    seed: int
    exit_code: int
    classes: set[str] = field(default_factory=set)
    outside: set[str] = field(default_factory=set)  # classes with only out-of-contract examples
    seconds: float = 0.0
    error: str = ""


def run_shared(spec: str, profile: str, seed: int, workdir: Path, extra: list[str]) -> Run:
    """The same hunt as ``conformance run --in-process``, in this process: the oracle's
    expectations are computed once and serve every mutant (the cases depend on the seed alone).
    ``extra`` options other than --function/--dtype are not supported here (use --subprocess)."""
    from conformance.backends.plugins import load_backend
    from conformance.hunt.audit import audit_backend
    from conformance.hunt.profiles import PROFILES
    from conformance.judge import expectation

    expectation._CACHE_SIZE = max(expectation._CACHE_SIZE, 200_000)
    expectation._LARGE_CACHE_SIZE = max(expectation._LARGE_CACHE_SIZE, 256)
    start = time.monotonic()
    run = Run(spec, seed, 0)
    try:
        result = audit_backend(load_backend(spec), PROFILES[profile], seed=seed)
    except Exception as exc:  # a crash of the harness itself: reported, never a catch
        run.error = f"{type(exc).__name__}: {exc}"
        run.exit_code = 2
        return run
    for d in result.divergences:
        run.classes.add(d.class_id)
        if d.tier not in COUNTED_BY_DEFAULT:
            run.outside.add(d.class_id)
    run.exit_code = 1 if run.classes - run.outside else 0
    run.seconds = time.monotonic() - start
    return run


def run_hunt(spec: str, profile: str, seed: int, workdir: Path, extra: list[str]) -> Run:
    """``conformance run`` on ``spec`` in a subprocess; the classes come from its JSON report."""
    stem = f"{spec.replace(':', '-').replace('.', '_')}-{seed}"
    cmd = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--backend",
        spec,
        "--profile",
        profile,
        "--seed",
        str(seed),
        "--in-process",
        "--quiet",
        "--report-dir",
        str(workdir),
        "--report-stem",
        stem,
        *extra,
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    run = Run(spec, seed, proc.returncode, seconds=time.monotonic() - start)
    report = workdir / f"{stem}.json"
    if proc.returncode not in (0, 1) or not report.exists():
        run.error = (proc.stderr.strip().splitlines() or ["no report written"])[-1]
        return run
    for backend_run in json.loads(report.read_text())["runs"]:
        if backend_run["status"] != "completed":
            run.error = f"status {backend_run['status']}: {backend_run.get('message', '')}"
        for d in backend_run["divergences"]:
            run.classes.add(d["class_id"])
            if d.get("tier", "defect") not in COUNTED_BY_DEFAULT:
                run.outside.add(d["class_id"])
    return run


def reference_diverges(run: Run) -> bool:
    """The reference fails its run: an error, or a class standing inside the contract."""
    return bool(run.error) or run.exit_code not in (0, 1) or bool(run.classes - run.outside)


@dataclass
class Row:
    name: str
    caught: list[int] = field(default_factory=list)
    outside_only: list[int] = field(default_factory=list)  # caught only outside the contract
    escaped: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    new_classes: dict[int, list[str]] = field(default_factory=dict)


def score(
    names: list[str], profile: str, seeds: list[int], extra: list[str], log=print
) -> tuple[dict[int, Run], list[Row]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="mutation-score-") as tmp:
        workdir = Path(tmp)
        hunt = run_hunt if SUBPROCESS[0] else run_shared
        reference = {s: hunt(REFERENCE, profile, s, workdir, extra) for s in seeds}
        for s, r in reference.items():
            log(
                f"reference seed {s}: exit {r.exit_code}, {len(r.classes)} classes ({r.seconds:.0f} s)"
            )
        for name in names:
            row = Row(name)
            for s in seeds:
                r = hunt(f"tests.mutation.mutants:{name}", profile, s, workdir, extra)
                new = sorted(r.classes - reference[s].classes)
                # A strict-only mutant's bug lies where the documentation is silent or excludes
                # the input: `run --strict` counts every tier, so every new class is a catch.
                strict = getattr(MUTANTS.get(name), "strict_only", False)
                inside = [c for c in new if strict or c not in r.outside]
                if r.error:
                    row.errors.append(f"seed {s}: {r.error}")
                row.new_classes[s] = new
                if inside:
                    row.caught.append(s)
                else:
                    row.escaped.append(s)
                    if new:
                        row.outside_only.append(s)
            log(
                f"{name}: caught at {row.caught or '-'}, only outside the contract at {row.outside_only or '-'}"
            )
            rows.append(row)
    return reference, rows


def replay_witnesses(names: list[str], workdir: Path) -> dict[str, str]:
    """Each mutant's witness replayed through the harness (``conformance replay``): "caught",
    "conforms", or why it cannot be replayed; the reference on all witnesses under "reference".
    This separates a judge that cannot see a bug from a hunt that never draws its input."""
    results: dict[str, str] = {}
    cases = {n: MUTANTS[n].witness.case_json() for n in names}
    all_cases = [c for c in cases.values() if c is not None]
    specs = [(REFERENCE, all_cases, "reference")]
    specs += [(f"tests.mutation.mutants:{n}", [c], n) for n, c in cases.items() if c is not None]
    for spec, case_list, label in specs:
        path = workdir / f"{label}.cases.json"
        path.write_text(json.dumps(case_list))
        cmd = [sys.executable, "-m", "conformance", "replay", "--backend", spec, str(path)]
        proc = subprocess.run(cmd + ["--in-process"], cwd=REPO, capture_output=True, text=True)
        results[label] = {0: "conforms", 1: "caught"}.get(
            proc.returncode, f"error: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    for n, c in cases.items():
        if c is None:
            results[n] = "not replayable (needs an upstream gradient other than ones)"
    return results


def _seeds(seeds: list[int]) -> str:
    return " ".join(map(str, seeds)) if seeds else "-"


def render(reference: dict[int, Run], rows: list[Row], seeds: list[int], markdown: bool) -> str:
    ref_diverging = [s for s, r in reference.items() if reference_diverges(r)]
    caught_all = sum(1 for r in rows if not r.escaped)
    lines = []
    if markdown:
        lines += [
            "| mutant | caught at seeds | escapes at seeds | of which caught only outside the contract |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{r.name}` | {_seeds(r.caught)} | {_seeds(r.escaped)} | {_seeds(r.outside_only)} |"
            for r in rows
        ]
    else:
        width = max([len(r.name) for r in rows] + [6])
        lines.append(
            f"{'mutant':{width}}  caught at seeds  escapes at seeds  (caught only outside the contract)"
        )
        lines += [
            f"{r.name:{width}}  {_seeds(r.caught):15}  {_seeds(r.escaped):16}  {_seeds(r.outside_only)}"
            for r in rows
        ]
    lines.append("")
    lines.append(
        f"mutation score: {caught_all}/{len(rows)} mutants caught at every seed of {_seeds(seeds)}"
    )
    for s, r in reference.items():
        inside = len(r.classes - r.outside)
        state = (
            f"diverges ({inside} classes inside the contract)" if reference_diverges(r) else "clean"
        )
        if r.outside:
            state += f"; {len(r.outside)} classes outside the contract"
        lines.append(f"reference at seed {s}: {state}" + (f"; {r.error}" if r.error else ""))
        for c in sorted(r.classes):
            lines.append(f"    {c}")
    for row in rows:
        for e in row.errors:
            lines.append(f"{row.name}: {e}")
    if ref_diverging:
        lines.append(f"the reference diverges at seeds {_seeds(ref_diverging)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.mutation.score", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--profile", choices=("ci", "dev", "deep"), default="ci")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--only", nargs="+", metavar="NAME", help="score only these mutants")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument(
        "--list", action="store_true", help="list the mutants (Markdown): bug and witness"
    )
    p.add_argument(
        "--witnesses",
        action="store_true",
        help="instead of hunting, replay each mutant's witness through the harness",
    )
    p.add_argument("--json", type=Path, help="also write the per-seed new classes here")
    p.add_argument(
        "--run-args", default="", help="more options for every `conformance run`, one string"
    )
    p.add_argument(
        "--strict-only-too",
        action="store_true",
        help="also score the mutants only `run --strict` can catch (every tier counted for them)",
    )
    p.add_argument(
        "--subprocess",
        action="store_true",
        help="one `conformance run` process per run (default: one process, shared oracle cache)",
    )
    args = p.parse_args(argv)
    SUBPROCESS[0] = args.subprocess or bool(args.run_args)
    extra = shlex.split(args.run_args)
    names = args.only or (list(MUTANTS) if args.strict_only_too else DEFAULT_SCORED)
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        print(
            f"unknown mutant(s): {', '.join(unknown)}; known: {', '.join(MUTANTS)}", file=sys.stderr
        )
        return 2
    if args.list:
        print("| mutant | bug | witness (closed form) |\n|---|---|---|")
        for n in names:
            doc = " ".join((MUTANTS[n].__doc__ or "").split())
            print(f"| `{n}` | {doc} | {MUTANTS[n].witness.derivation} |")
        return 0
    if args.witnesses:
        with tempfile.TemporaryDirectory(prefix="mutation-witnesses-") as tmp:
            results = replay_witnesses(names, Path(tmp))
        for label, verdict in results.items():
            print(f"{label}: {verdict}")
        bad = results.pop("reference") != "conforms" or any(v != "caught" for v in results.values())
        return 1 if bad else 0
    reference, rows = score(
        names, args.profile, args.seeds, extra, log=lambda m: print(m, file=sys.stderr)
    )
    print(render(reference, rows, args.seeds, args.markdown))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "profile": args.profile,
                    "seeds": args.seeds,
                    "reference": {s: sorted(r.classes) for s, r in reference.items()},
                    "outside_the_contract": {s: sorted(r.outside) for s, r in reference.items()},
                    "mutants": {
                        r.name: {
                            "caught": r.caught,
                            "outside_only": r.outside_only,
                            "new_classes": r.new_classes,
                        }
                        for r in rows
                    },
                },
                indent=1,
            )
        )
    failed = any(r.escaped for r in rows) or any(map(reference_diverges, reference.values()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
