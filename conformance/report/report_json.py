"""The JSON form of an audit report, its JSON Schema, and validation.

The file is exactly ``AuditReport.to_json()``. Non-finite floats (a scan at x = inf, an infinite
ULP distance) are written as Python's ``json`` writes them (``Infinity``, ``NaN``) so that the
report round-trips bit for bit; strict JSON readers need to accept those extensions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.records import AuditReport, report_from_json

SCHEMA_RESOURCE = "audit-report.schema.json"
MAX_LISTED_ERRORS = 10


class ReportValidationError(ValueError):
    """The data is not a valid audit report; the message lists where and why."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The audit-report JSON Schema (draft 2020-12), read from the package data."""
    text = resources.files("conformance.schemas").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


def _where(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_report(data: Any) -> None:
    """Raise ReportValidationError unless ``data`` matches the audit-report schema."""
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - jsonschema is in the "reports" extra
        raise ImportError(
            "validating an audit report needs jsonschema: pip install 'bce-conformance[reports]'"
        ) from exc
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    problems = [f"{_where(e.absolute_path)}: {e.message}" for e in errors]
    shown = problems[:MAX_LISTED_ERRORS]
    more = len(problems) - len(shown)
    lines = "\n  ".join(shown + ([f"... and {more} more"] if more > 0 else []))
    raise ReportValidationError(
        f"not a valid audit report ({len(problems)} problem(s)):\n  {lines}", problems
    )


def report_to_json_text(report: AuditReport) -> str:
    """The validated JSON text of ``report`` (indented, keys in record order, trailing newline)."""
    data = report.to_json()
    validate_report(data)
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def write_json_report(report: AuditReport, path: str | Path) -> Path:
    """Validate ``report`` and write it as JSON to ``path`` atomically; return the path."""
    from conformance.report.report_files import atomic_write_text  # late: report_files imports us

    return atomic_write_text(Path(path), report_to_json_text(report))


def load_json_report(path: str | Path) -> AuditReport:
    """Read, validate and rebuild an AuditReport written by ``write_json_report``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportValidationError(f"{path}: not JSON ({exc})") from exc
    try:
        validate_report(data)
    except ReportValidationError as exc:
        raise ReportValidationError(f"{path}: {exc}", exc.problems) from exc
    return report_from_json(data)
