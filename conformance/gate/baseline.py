"""The baseline of known, explained divergence classes, and the CI gate against it.

A baseline file::

    {"format": "bce-conformance-baseline/1",
     "backends": {"torch": {"version": "2.13.0", "device": "cpu",
                            "classes": {"<class_id>": {"explanation": "why (non-empty)",
                                                       "upstream": "optional link or text",
                                                       "profiles": ["ci", "deep"]}}}}}

The gate fails (exit code 1) on divergence classes the baseline does not list for that backend.
A backend that did not complete counts as the pseudo class ``backend:<status>``
(``backend:crashed``, ``backend:timeout``, ``backend:setup_error``): it fails the gate unless the
baseline lists it. Baseline classes not seen are reported as "fixed upstream?" and do not fail; a class whose
``profiles`` (the audit profiles whose reports found it; optional) do not include the gated
report's profile is not expected there, and is only counted ("found by other profiles"); the
identity violations (``identity/...``: conformance/findings/identities.py) carry the profile
``identities``, since only tests/harness/test_identities.py checks them, never an audit. A
version or device differing from the baseline's is a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.records import AuditReport, BackendRun, DivergenceClass

FORMAT = "bce-conformance-baseline/1"
REPRODUCER_LINES = 8
_TOP_KEYS = {"format", "backends"}
_BACKEND_KEYS = {"version", "device", "classes"}
_ENTRY_KEYS = {"explanation", "upstream", "profiles"}


class BaselineError(ValueError):
    """A baseline file (or dict) is malformed; the message names the source and every problem."""


@dataclass(frozen=True)
class BaselineEntry:
    explanation: str
    upstream: str = ""
    profiles: tuple[str, ...] = ()  # the profiles whose reports found it; () = any

    def expected_at(self, profile: str) -> bool:
        """Whether an audit at ``profile`` is expected to meet this class."""
        return not self.profiles or not profile or profile in self.profiles


@dataclass
class BaselineBackend:
    version: str
    device: str = ""
    classes: dict[str, BaselineEntry] = field(default_factory=dict)


@dataclass
class Baseline:
    backends: dict[str, BaselineBackend] = field(default_factory=dict)
    source: str = "<baseline>"


def status_class_id(status: str) -> str:
    """The pseudo class id standing for a backend run that ended with ``status``."""
    return f"backend:{status}"


# ---------------------------------------------------------------- loading


def _check_keys(obj: dict, allowed: set[str], required: set[str], where: str) -> list[str]:
    problems = [
        f"{where}: unknown key {k!r} (allowed: {', '.join(sorted(allowed))})"
        for k in obj
        if k not in allowed
    ]
    problems += [f"{where}: missing key {k!r}" for k in sorted(required) if k not in obj]
    return problems


def _parse_entry(raw: Any, where: str, problems: list[str]) -> BaselineEntry | None:
    if not isinstance(raw, dict):
        problems.append(
            f"{where}: must be an object with an 'explanation', got {type(raw).__name__}"
        )
        return None
    problems += _check_keys(raw, _ENTRY_KEYS, {"explanation"}, where)
    explanation, upstream = raw.get("explanation"), raw.get("upstream", "")
    if "explanation" in raw and not (isinstance(explanation, str) and explanation.strip()):
        problems.append(f"{where}.explanation: must be a non-empty string, got {explanation!r}")
    if not isinstance(upstream, str):
        problems.append(f"{where}.upstream: must be a string, got {type(upstream).__name__}")
    profiles = raw.get("profiles", [])
    if not (isinstance(profiles, list) and all(isinstance(p, str) and p for p in profiles)):
        problems.append(f"{where}.profiles: must be a list of profile names, got {profiles!r}")
        profiles = []
    if isinstance(explanation, str) and explanation.strip() and isinstance(upstream, str):
        return BaselineEntry(explanation.strip(), upstream, tuple(profiles))
    return None


def _parse_backend(raw: Any, where: str, problems: list[str]) -> BaselineBackend | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object, got {type(raw).__name__}")
        return None
    problems += _check_keys(raw, _BACKEND_KEYS, {"version", "classes"}, where)
    for key in ("version", "device"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{where}.{key}: must be a string, got {type(raw[key]).__name__}")
    classes = raw.get("classes", {})
    if not isinstance(classes, dict):
        problems.append(f"{where}.classes: must be an object, got {type(classes).__name__}")
        classes = {}
    entries = {}
    for class_id, entry in classes.items():
        if not class_id:
            problems.append(f"{where}.classes: empty class id")
        parsed = _parse_entry(entry, f"{where}.classes[{class_id!r}]", problems)
        if parsed is not None:
            entries[class_id] = parsed
    version, device = raw.get("version"), raw.get("device", "")
    if isinstance(version, str) and isinstance(device, str):
        return BaselineBackend(version, device, entries)
    return None


def parse_baseline(data: Any, source: str = "<baseline>") -> Baseline:
    """Check and convert baseline data; raise BaselineError listing every problem."""
    problems: list[str] = []
    backends: dict[str, BaselineBackend] = {}
    if not isinstance(data, dict):
        problems.append(f"top level: must be an object, got {type(data).__name__}")
    else:
        problems += _check_keys(data, _TOP_KEYS, _TOP_KEYS, "top level")
        if "format" in data and data["format"] != FORMAT:
            problems.append(f"format: expected {FORMAT!r}, got {data['format']!r}")
        raw = data.get("backends", {})
        if not isinstance(raw, dict):
            problems.append(f"backends: must be an object, got {type(raw).__name__}")
            raw = {}
        for name, backend in raw.items():
            parsed = _parse_backend(backend, f"backends[{name!r}]", problems)
            if parsed is not None:
                backends[name] = parsed
    if problems:
        raise BaselineError(f"invalid baseline {source}:\n  " + "\n  ".join(problems))
    return Baseline(backends, source)


def load_baseline(path: str | Path) -> Baseline:
    """Read and check a baseline file; raise BaselineError naming the file and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"invalid baseline {path}: not JSON ({exc})") from exc
    return parse_baseline(data, str(path))


# ---------------------------------------------------------------- gate


@dataclass
class NewClass:
    """A divergence (or a backend failure) the baseline does not explain."""

    class_id: str
    description: str
    count: int = 0
    max_ulp: float | None = None
    reproducer: str = ""


@dataclass
class BackendGate:
    backend: str
    version: str
    device: str
    status: str
    new: list[NewClass] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    disappeared: list[tuple[str, BaselineEntry]] = field(default_factory=list)
    other_profiles: list[str] = field(default_factory=list)  # not expected at this profile
    not_hunted: list[str] = field(default_factory=list)  # cells or purposes this run skipped
    warnings: list[str] = field(default_factory=list)


@dataclass
class GateResult:
    backends: list[BackendGate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def new_count(self) -> int:
        return sum(len(b.new) for b in self.backends)

    @property
    def exit_code(self) -> int:
        """0 when nothing is new, 1 when some class (or backend failure) is not in the baseline."""
        return 1 if self.new_count else 0

    def render(self) -> str:
        """Human-readable gate outcome: each new class with description and reproducer start."""
        head = (
            "Conformance gate: PASS (no new divergence classes)"
            if not self.exit_code
            else f"Conformance gate: FAIL ({self.new_count} new divergence class(es))"
        )
        lines = [head, *[f"warning: {w}" for w in self.warnings]]
        for b in self.backends:
            lines.append(
                f"\n{b.backend} {b.version} ({b.device}) [{b.status}]: {len(b.new)} new, "
                f"{len(b.known)} known, {len(b.disappeared)} disappeared"
                + (
                    f" ({len(b.other_profiles)} more found only by other profiles)"
                    if b.other_profiles
                    else ""
                )
                + (
                    f" ({len(b.not_hunted)} more in cells or purposes this run did not hunt: "
                    "not judged)"
                    if b.not_hunted
                    else ""
                )
            )
            lines += [f"  warning: {w}" for w in b.warnings]
            for n in b.new:
                ulp = "—" if n.max_ulp is None else f"{n.max_ulp:g}"
                stats = f" ({n.count} case(s), max ULP {ulp})" if n.count else ""
                lines.append(f"  NEW {n.class_id}: {n.description}{stats}")
                snippet = n.reproducer.strip().splitlines()
                for line in snippet[:REPRODUCER_LINES]:
                    lines.append(f"      {line}")
                if len(snippet) > REPRODUCER_LINES:
                    lines.append("      ...")
            for class_id, entry in b.disappeared:
                note = "" if b.status == "completed" else " (backend did not complete)"
                upstream = f" [{entry.upstream}]" if entry.upstream else ""
                lines.append(
                    f"  fixed upstream? {class_id} not seen{note}: {entry.explanation}{upstream}"
                )
        return "\n".join(lines) + "\n"


def _last_line(message: str) -> str:
    """The last non-empty line of a message (for a traceback: the exception itself)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _seen(run: BackendRun, tiers: frozenset[str] | None = None) -> dict[str, NewClass]:
    """The run's classes (of the counted ``tiers``; all when None) and backend failures."""
    seen: dict[str, NewClass] = {}
    if run.status != "completed":
        seen[status_class_id(run.status)] = NewClass(
            status_class_id(run.status),
            f"backend {run.status}: {_last_line(run.message)}",
        )
    for cls in run.divergences:
        if tiers is None or cls.tier in tiers:
            seen.setdefault(cls.class_id, _as_new(cls))
    return seen


def _as_new(cls: DivergenceClass) -> NewClass:
    return NewClass(cls.class_id, cls.description, cls.count, cls.max_ulp, cls.minimal.reproducer)


def _gate_run(
    run: BackendRun,
    expected: BaselineBackend | None,
    tiers: frozenset[str] | None,
    profile: str = "",
) -> BackendGate:
    result = BackendGate(run.backend, run.version, run.device, run.status)
    if expected is None:
        result.warnings.append(f"the baseline has no entry for backend {run.backend!r}")
        expected = BaselineBackend(version=run.version, device=run.device)
    if expected.version != run.version:
        result.warnings.append(
            f"report has {run.backend} {run.version!r}, "
            f"the baseline was made with {expected.version!r}"
        )
    if expected.device and expected.device != run.device:
        result.warnings.append(f"report device {run.device!r}, baseline device {expected.device!r}")
    seen = _seen(run, tiers)
    everything = _seen(run)
    for class_id, item in seen.items():
        if class_id in expected.classes:
            result.known.append(class_id)
        else:
            result.new.append(item)
    unseen = [(c, e) for c, e in expected.classes.items() if c not in everything]
    hunted = _fully_hunted_cells(run)
    if hunted is not None:  # a run restricted by --function, --dtype or --purpose
        result.not_hunted = [c for c, _ in unseen if tuple(c.split("/")[:2]) not in hunted]
        unseen = [(c, e) for c, e in unseen if tuple(c.split("/")[:2]) in hunted]
    result.disappeared = [(c, e) for c, e in unseen if e.expected_at(profile)]
    result.other_profiles = [c for c, e in unseen if not e.expected_at(profile)]
    return result


def _fully_hunted_cells(run: BackendRun) -> set[tuple[str, str]] | None:
    """The (function, dtype) cells the run hunted with every purpose, or None where it hunted
    every cell so (or recorded no purposes: an older report). A baseline class records no
    purpose, so only a class of such a cell can be judged not seen."""
    from conformance.backends.protocol import DTYPES, FUNCTIONS
    from conformance.hunt.purposes import PURPOSES

    if not run.purposes:
        return None
    by_cell: dict[tuple[str, str], set[str]] = {}
    for p in run.purposes:
        by_cell.setdefault((p.function, p.dtype), set()).add(p.purpose)
    full = {cell for cell, purposes in by_cell.items() if purposes >= set(PURPOSES)}
    if len(full) == len(FUNCTIONS) * len(DTYPES):
        return None
    return full


def gate(
    report: AuditReport, baseline: Baseline, tiers: frozenset[str] | None = None
) -> GateResult:
    """Compare the report's divergence classes (and backend failures) with the baseline.

    Only classes of the counted ``tiers`` can be new (conformance.findings.tiers: defect and
    contract by default, every tier with ``--strict``); None counts every class.
    """
    result = GateResult()
    for run in report.runs:
        result.backends.append(
            _gate_run(run, baseline.backends.get(run.backend), tiers, report.profile)
        )
    missing = sorted(set(baseline.backends) - {r.backend for r in report.runs})
    result.warnings += [
        f"backend {name!r} is in the baseline but not in the report" for name in missing
    ]
    return result


def baseline_from_report(
    report: AuditReport,
    explanations: dict[str, str],
    upstream: dict[str, str] | None = None,
    profiles: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Baseline data listing every class of the report (and every backend failure).

    ``explanations`` maps a class id to its explanation; a key ``"<backend>::<class_id>"`` takes
    precedence for one backend (so for ``upstream`` and ``profiles``: the profiles whose reports
    found the class). Raises BaselineError if any class lacks a non-empty explanation.
    """
    upstream = upstream or {}
    profiles = profiles or {}
    backends: dict[str, Any] = {}
    missing: list[str] = []
    for run in report.runs:
        classes: dict[str, Any] = {}
        for class_id in _seen(run):
            key = f"{run.backend}::{class_id}"
            text = explanations.get(key, explanations.get(class_id, ""))
            if not isinstance(text, str) or not text.strip():
                missing.append(f"{run.backend}: {class_id}")
                continue
            entry = {"explanation": text.strip()}
            link = upstream.get(key, upstream.get(class_id, ""))
            if link:
                entry["upstream"] = link
            found_by = profiles.get(key, profiles.get(class_id, []))
            if found_by:
                entry["profiles"] = sorted(found_by)
            classes[class_id] = entry
        backends[run.backend] = {"version": run.version, "device": run.device, "classes": classes}
    if missing:
        raise BaselineError(
            "refusing to baseline classes without an explanation:\n  " + "\n  ".join(missing)
        )
    data = {"format": FORMAT, "backends": backends}
    parse_baseline(data, "<generated baseline>")
    return data
