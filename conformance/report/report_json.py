"""The JSON form of an audit report, its JSON Schema, and validation.

The file is ``AuditReport.to_json()`` in strict JSON: a non-finite float (a scan point at
x = inf, an infinite distance) is written as the string ``"inf"``, ``"-inf"`` or ``"nan"`` and
read back as the float, so every report parses with ``jq`` and round-trips bit for bit; the
writer refuses bare ``Infinity``/``NaN`` tokens (``allow_nan=False``).
"""

from __future__ import annotations

import json
import math
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


NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
# Fields that hold a float which may be non-finite (encoded as a string in the file).
# A scan series holds columns of them (lists under the same names).
REAL_FIELDS = frozenset(
    {"x", "y", "ulp", "max_ulp", "condition_error", "seconds", "relative_error"}
)


def encode_non_finite(data: Any) -> Any:
    """``data`` with every non-finite float replaced by "inf", "-inf" or "nan"."""
    if isinstance(data, float) and not math.isfinite(data):
        return "nan" if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {k: encode_non_finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [encode_non_finite(v) for v in data]
    return data


def decode_non_finite(data: Any) -> Any:
    """The inverse of ``encode_non_finite`` on the float fields of a report (REAL_FIELDS); the
    strings of other fields (a ``got`` of "nan", an array's values) stay strings. Older reports
    with bare NaN/Infinity tokens decode to the same floats."""
    if isinstance(data, dict):
        return {
            k: _decode_real(v) if k in REAL_FIELDS else decode_non_finite(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [decode_non_finite(v) for v in data]
    return data


def _decode_real(value: Any) -> Any:
    """A REAL_FIELDS value: one float, or a scan series' column of them."""
    if isinstance(value, list):
        return [NON_FINITE.get(v, v) if isinstance(v, str) else v for v in value]
    return NON_FINITE[value] if isinstance(value, str) and value in NON_FINITE else value


def _json_text(data: Any, level: int = 0) -> str:
    """``json.dumps(data, indent=1)``, except that a list of scalars (a scan column, an array's
    values, a coverage row) is written on one line: a dense scan stays a few lines per series."""
    pad = " " * (level + 1)
    if isinstance(data, dict) and data:
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_json_text(v, level + 1)}"
            for k, v in data.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * level + "}"
    if isinstance(data, list) and data:
        if all(not isinstance(v, (dict, list)) for v in data):
            return json.dumps(data, ensure_ascii=False, allow_nan=False)
        items = [pad + _json_text(v, level + 1) for v in data]
        return "[\n" + ",\n".join(items) + "\n" + " " * level + "]"
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def report_to_json_text(report: AuditReport) -> str:
    """The validated strict-JSON text of ``report`` (indented, keys in record order, trailing
    newline; non-finite floats as strings)."""
    data = encode_non_finite(report.to_json())
    validate_report(data)
    return _json_text(data) + "\n"


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
    data = encode_non_finite(data)  # an older file's bare NaN/Infinity tokens
    try:
        validate_report(data)
    except ReportValidationError as exc:
        raise ReportValidationError(f"{path}: {exc}", exc.problems) from exc
    return report_from_json(decode_non_finite(data))
