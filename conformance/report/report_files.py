"""Writing the report files: ``{stem}.json``, ``{stem}.md`` and ``{stem}.html``, each atomically.

Each file is rendered in memory, written to a temporary file in the same directory, fsynced and
moved over the target with ``os.replace``: a reader sees the old file or the new one, never half a
file, and a format whose rendering fails leaves its previous file untouched. The formats are
independent: every format that renders is written, and only then are the failures raised.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from conformance.records import AuditReport

FORMATS = ("json", "md", "html")


def unwritable_folder(folder: Path) -> str | None:
    """Why reports cannot be written into ``folder`` (created if missing), or None if they can:
    it is not a folder, or a probe file cannot be created and removed there."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} exists and is not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".bce-conformance-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return f"cannot write to {folder} ({exc.strerror or exc})"
    return None


class ReportWriteError(RuntimeError):
    """Some formats failed; ``written`` holds the paths that were written, ``errors`` the rest."""

    def __init__(self, written: dict[str, Path], errors: dict[str, BaseException]) -> None:
        detail = "; ".join(f"{fmt}: {type(e).__name__}: {e}" for fmt, e in errors.items())
        done = ", ".join(str(p) for p in written.values()) or "nothing"
        super().__init__(f"report format(s) failed ({detail}); written: {done}")
        self.written = written
        self.errors = errors


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (e.g. Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` via a fsynced temp file and ``os.replace``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)
    return path


def _renderers() -> dict[str, Callable[[AuditReport], str]]:
    # Imported here so that a broken optional renderer cannot stop the JSON from being written.
    from conformance.report.report_json import report_to_json_text

    def markdown(report: AuditReport) -> str:
        from conformance.report.report_markdown import render_markdown

        return render_markdown(report)

    def html(report: AuditReport) -> str:
        from conformance.report.report_html import render_html

        return render_html(report)

    return {"json": report_to_json_text, "md": markdown, "html": html}


def source_date() -> str:
    """``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) as an ISO date-time, or ""."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch.isdigit():
        return ""
    moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")


def without_timings(report: AuditReport) -> AuditReport:
    """The report with nothing that changes from run to run: no creation time (unless
    SOURCE_DATE_EPOCH sets one) and no seconds per run. The default for written reports, so
    the same seed gives byte-identical files."""
    return replace(
        report,
        created=source_date(),
        runs=[replace(run, seconds=0.0) for run in report.runs],
    )


def write_reports(
    report: AuditReport, out_dir: str | Path, stem: str, timings: bool = False
) -> dict[str, Path]:
    """Write ``{stem}.json``, ``{stem}.md`` and ``{stem}.html`` under ``out_dir``; without
    ``timings`` the files carry no creation time nor seconds (without_timings).

    Returns format -> path. If any format fails to render or write, the others are still written
    and ReportWriteError is raised afterwards (its ``written`` and ``errors`` say which is which).
    """
    if not timings:
        report = without_timings(report)
    out = Path(out_dir)
    renderers = _renderers()
    written: dict[str, Path] = {}
    errors: dict[str, BaseException] = {}
    for fmt in FORMATS:
        try:
            written[fmt] = atomic_write_text(out / f"{stem}.{fmt}", renderers[fmt](report))
        except Exception as exc:
            errors[fmt] = exc
    if errors:
        raise ReportWriteError(written, errors)
    return written
