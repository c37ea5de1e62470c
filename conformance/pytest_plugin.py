"""The conformance hunt inside a user's own pytest run (the ``pytest11`` entry point).

    pytest --bce-backend B [--bce-backend B2 ...] [--bce-profile ci|dev|deep] [--bce-seed 0]
           [--bce-baseline FILE] [--bce-strict] [--bce-function F] [--bce-dtype D]
           [--bce-purpose P] [--bce-summary FILE] [--bce-report-dir DIR]
           [--bce-timeout S] [--bce-in-process]

Without ``--bce-backend`` the plugin adds nothing. With it, every (backend, function, dtype,
purpose) cell of the audit is one test item, ``bce[B-function-dtype-purpose]`` (marker ``bce``:
``-m bce`` runs only these; ``-k float16`` selects as usual). An item hunts its cell as
``bce-conformance run`` would (same cases for the same seed, crash and hang isolation unless
``--bce-in-process``) and

* **fails** when a divergence class of a counted tier (defect, contract; every tier with
  ``--bce-strict``) is not in the baseline (every counted class when no baseline is given), or
  when the backend crashed or hung outside a class: the message names each class with its
  minimal case and the command that replays it;
* **xfails** when every counted class it found is in the baseline (known, explained);
* is **skipped** when the backend declines every case of the cell (an unsupported dtype:
  an untested cell is never a pass);
* **passes** otherwise.

``--bce-summary FILE`` appends a Markdown summary (one row per item, then each failing class),
e.g. ``--bce-summary "$GITHUB_STEP_SUMMARY"``; ``--bce-report-dir`` writes the usual JSON,
Markdown and HTML reports of the whole run (one per backend). JUnit XML comes from pytest
(``--junitxml``). Bad options (unknown backend, dtype, function, purpose or profile, an
unreadable baseline, an unwritable summary or report folder) stop the session with a message
and exit status 2, before any test runs.
"""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance import __version__
from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.hunt.purposes import PURPOSES

_PROFILES = ("ci", "dev", "deep")
_USAGE_EXIT = 2
_CLASSES_SHOWN = 10  # per failing item; the reports hold every class


class ConformanceFailure(Exception):
    """An item's counted divergences (the message is the report)."""


@dataclass
class _BackendState:
    spec: str
    backend: object
    runner: object = None
    close: object = None
    runs: list = field(default_factory=list)


@dataclass
class _Session:
    profile: object
    seed: int
    strict: bool
    baseline: object
    timeout: float
    in_process: bool
    summary: Path | None
    report_dir: Path | None
    backends: dict[str, _BackendState] = field(default_factory=dict)
    rows: list = field(default_factory=list)  # (item name, outcome, compared, detail)
    failures: list = field(default_factory=list)  # (item name, lines)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bce-conformance", "binary cross-entropy conformance")
    group.addoption("--bce-backend", action="append", default=[], metavar="B",
                    help="hunt this backend (numpy, torch, paddle, module or module:attr; "
                    "repeatable); without it the plugin adds no test")  # fmt: skip
    group.addoption("--bce-profile", default="ci", metavar="P", help="ci (default), dev or deep")
    group.addoption("--bce-seed", default="0", metavar="N", help="the hunt's seed (default 0)")
    group.addoption("--bce-baseline", default=None, metavar="FILE",
                    help="known divergence classes: they xfail, only new ones fail")  # fmt: skip
    group.addoption("--bce-strict", action="store_true",
                    help="count every tier (out-of-contract and convention classes too)")  # fmt: skip
    for name, choices in (("function", FUNCTIONS), ("dtype", DTYPES), ("purpose", PURPOSES)):
        group.addoption(f"--bce-{name}", action="append", default=[], metavar=name.upper(),
                        help=f"only this {name} (repeatable; one of {', '.join(choices)})")  # fmt: skip
    group.addoption("--bce-summary", default=None, metavar="FILE",
                    help="append a Markdown summary here (e.g. \"$GITHUB_STEP_SUMMARY\")")  # fmt: skip
    group.addoption("--bce-report-dir", default=None, metavar="DIR",
                    help="write the JSON, Markdown and HTML reports of the run here")  # fmt: skip
    group.addoption("--bce-timeout", default="600", metavar="S",
                    help="seconds per backend call before it counts as a hang (default 600)")  # fmt: skip
    group.addoption("--bce-in-process", action="store_true",
                    help="call the backend in the test process (no crash/hang isolation)")  # fmt: skip


def _stop(message: str) -> None:
    pytest.exit(f"bce-conformance: {message}", returncode=_USAGE_EXIT)


def _choose(values: list[str], choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    bad = [v for v in values if v not in choices]
    if bad:
        _stop(f"unknown {what} {bad[0]!r} (choose from {', '.join(choices)})")
    return tuple(values) or choices


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        _stop(f"--bce-seed: {text!r} is not an integer >= 0")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        _stop(f"--bce-timeout: {text!r} is not a positive number of seconds")
    return value


def _writable(path: Path, what: str, folder: bool) -> None:
    from conformance.report.report_files import unwritable_folder

    problem = unwritable_folder(path if folder else path.parent)
    if problem is not None:
        _stop(f"{what} {path}: {problem}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bce: a binary cross-entropy conformance cell")
    specs = config.getoption("bce_backend")
    if not specs:
        return
    from conformance.cli import UsageError, _load
    from conformance.gate.baseline import BaselineError, load_baseline
    from conformance.hunt.profiles import PROFILES

    profile = config.getoption("bce_profile")
    if profile not in _PROFILES:
        _stop(f"unknown profile {profile!r} (choose from {', '.join(_PROFILES)})")
    seed = _seed(config.getoption("bce_seed"))
    timeout = _seconds(config.getoption("bce_timeout"))
    config._bce_cells = (
        _choose(config.getoption("bce_function"), FUNCTIONS, "function"),
        _choose(config.getoption("bce_dtype"), DTYPES, "dtype"),
        _choose(config.getoption("bce_purpose"), PURPOSES, "purpose"),
    )
    baseline = None
    if config.getoption("bce_baseline"):
        try:
            baseline = load_baseline(config.getoption("bce_baseline"))
        except BaselineError as exc:
            _stop(str(exc))
    summary = config.getoption("bce_summary")
    summary = Path(summary) if summary else None
    if summary is not None:
        _writable(summary, "--bce-summary", folder=False)
    report_dir = config.getoption("bce_report_dir")
    report_dir = Path(report_dir) if report_dir else None
    if report_dir is not None:
        _writable(report_dir, "--bce-report-dir", folder=True)
    state = _Session(
        PROFILES[profile], seed, config.getoption("bce_strict"), baseline, timeout,
        config.getoption("bce_in_process"), summary, report_dir,
    )  # fmt: skip
    for spec in specs:
        try:
            backend = _load(spec)
        except UsageError as exc:
            _stop(str(exc))
        state.backends[spec] = _BackendState(spec, backend)
    config._bce = state


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items) -> None:
    state = getattr(config, "_bce", None)
    if state is None:
        return
    functions, dtypes, purposes = config._bce_cells
    suite = ConformanceSuite.from_parent(session, name="bce-conformance", nodeid="bce-conformance")
    for spec in state.backends:
        for function in functions:
            for dtype in dtypes:
                for purpose in purposes:
                    name = f"bce[{spec}-{function}-{dtype}-{purpose}]"
                    item = ConformanceItem.from_parent(
                        suite, name=name, spec=spec, cell=(function, dtype, purpose)
                    )
                    item.add_marker("bce")
                    items.append(item)


class ConformanceSuite(pytest.Collector):
    """The parent of every conformance item (node ids ``bce-conformance::bce[...]``)."""

    def collect(self):
        return []


class ConformanceItem(pytest.Item):
    """One (backend, function, dtype, purpose) cell of the hunt."""

    def __init__(self, *, spec: str, cell: tuple[str, str, str], **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        self.cell = cell

    def runtest(self) -> None:
        state: _Session = self.config._bce
        backend_state = state.backends[self.spec]
        run = _hunt(state, backend_state, self.cell)
        backend_state.runs.append(run)
        outcome, detail, lines = _judge(state, self.spec, run, self.cell)
        compared = sum(p.compared for p in run.purposes)
        state.rows.append((self.name, outcome, compared, detail))
        self.user_properties.append(("bce_outcome", outcome))
        self.user_properties.append(("bce_compared", compared))
        if outcome == "failed":
            state.failures.append((self.name, lines))
            raise ConformanceFailure("\n".join(lines))
        if outcome == "skipped":
            pytest.skip(detail)
        if outcome == "xfailed":
            pytest.xfail(detail)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        function, dtype, purpose = self.cell
        return "bce-conformance", None, f"{self.spec}: {function} {dtype} {purpose}"


def _hunt(state: _Session, backend_state: _BackendState, cell):
    from conformance.cli import _runner
    from conformance.findings import attach_causes
    from conformance.hunt.audit import audit_backend
    from conformance.records import AuditReport, BackendRun

    function, dtype, purpose = cell
    backend = backend_state.backend
    if backend_state.runner is None:
        options = SimpleNamespace(in_process=state.in_process, timeout=state.timeout)
        try:
            backend_state.runner, backend_state.close = _runner(
                backend_state.spec, backend, options
            )
        except Exception as exc:  # the isolated worker could not load the backend
            return BackendRun(
                backend.name, backend.version, backend.device, "setup_error", str(exc)
            )
    run = audit_backend(
        backend,
        state.profile,
        seed=state.seed,
        functions=(function,),
        dtypes=(dtype,),
        purposes=(purpose,),
        runner=backend_state.runner,
        spec=backend_state.spec,
    )
    report = AuditReport(__version__, "", state.profile.name, state.seed, "", [run])
    attach_causes(report)
    return run


def _judge(state: _Session, spec: str, run, cell) -> tuple[str, str, list[str]]:
    """(outcome, one-line detail, failure lines) of one cell's run."""
    from conformance.findings.tiers import counted_tiers
    from conformance.gate.baseline import gate
    from conformance.records import AuditReport
    from conformance.run_summary import describe_class

    counted = counted_tiers(state.strict)
    if run.status != "completed":
        return "failed", run.status, [f"{run.backend}: {run.status}: {run.message}"]
    classes = [d for d in run.divergences if d.tier in counted]
    known: set[str] = set()
    if state.baseline is not None:
        report = AuditReport(__version__, "", state.profile.name, state.seed, "", [run])
        result = gate(report, state.baseline, counted).backends[0]
        known = set(result.known)
    # the loss values' classes first, then the most frequent
    new = sorted(
        (c for c in classes if c.class_id not in known),
        key=lambda c: (c.quantity != "value", -c.count, c.class_id),
    )
    compared = sum(p.compared for p in run.purposes)
    declined = sum(p.declined for p in run.purposes)
    generated = sum(p.generated for p in run.purposes)
    function, dtype, purpose = cell
    if new:
        head = (
            f"{run.backend} {run.version}: {len(new)} divergence class(es) in {function} "
            f"{dtype} ({purpose} cases)" + (" not in the baseline" if state.baseline else "")
        )
        lines = [head]
        for cls in new[:_CLASSES_SHOWN]:
            shown = describe_class(cls, spec)
            if cls.description:
                shown.insert(1, f"      {cls.description}")
            lines += shown
        if len(new) > _CLASSES_SHOWN:
            lines.append(
                f"  ... and {len(new) - _CLASSES_SHOWN} more (all of them: --bce-report-dir)"
            )
        return "failed", f"{len(new)} new class(es)", lines
    if compared == 0 and generated and declined == generated:
        reason = run.untested[0][-1] if run.untested else "every case declined"
        return "skipped", f"{run.backend} declines {function} {dtype}: {reason}", []
    if classes:
        return "xfailed", f"{len(classes)} known divergence class(es) (baseline)", []
    return "passed", f"{compared} compared", []


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    state = getattr(session.config, "_bce", None)
    if state is None:
        return
    for backend_state in state.backends.values():
        if backend_state.close is not None:
            backend_state.close()
    if state.summary is not None and state.rows:
        _append_summary(state)
    if state.report_dir is not None and any(b.runs for b in state.backends.values()):
        _write_reports(state)


def _append_summary(state: _Session) -> None:
    lines = [
        f"## Binary cross-entropy conformance ({state.profile.name} profile, seed {state.seed})",
        "",
        "| cell | outcome | compared | detail |",
        "|---|---|---:|---|",
    ]
    lines += [f"| `{n}` | {o} | {c} | {d} |" for n, o, c, d in state.rows]
    for name, failure in state.failures:
        lines += ["", f"### `{name}`", "", "```", *failure, "```"]
    try:
        with open(state.summary, "a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
    except OSError as exc:
        sys.stderr.write(f"bce-conformance: cannot write {state.summary}: {exc}\n")


def _write_reports(state: _Session) -> None:
    """One report per backend from its items' runs (their classes already carry their causes:
    _hunt attributed them)."""
    from conformance.hunt.run_merge import merge_backend_runs
    from conformance.records import AuditReport
    from conformance.report.report_files import write_reports

    for backend_state in state.backends.values():
        if not backend_state.runs:
            continue
        run = merge_backend_runs(backend_state.runs)
        report = AuditReport(
            tool_version=__version__,
            oracle="mpmath interval arithmetic, certified correct rounding (oracle/)",
            profile=state.profile.name,
            seed=state.seed,
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            runs=[run],
        )
        stem = f"{run.backend}-{run.version}-pytest"
        try:
            write_reports(report, state.report_dir, stem)
        except OSError as exc:
            sys.stderr.write(f"bce-conformance: cannot write reports: {exc}\n")
