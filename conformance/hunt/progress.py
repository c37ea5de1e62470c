"""Progress of long runs (audits, sweeps) on stderr, with an ETA.

On a terminal: a tqdm bar (``torch: 41%|████▏     | 1203/2930 cases [00:52<01:15]``),
rewritten in place. Anywhere else (CI logs, pipes): a plain line at most every 10 % of the
work or every 60 s, and one at the end, so a log shows progress without a carriage-return
mess. The ETA is the elapsed time per unit computed here, times the units left; units taken
from a checkpoint (``advance(n, computed=False)``) count as done but not towards that rate. An
optional note (a sweep's ``1.2e+06 inputs``) follows the count.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0.0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ProgressBar:
    """``advance(n)`` after each unit of work; ``close()`` at the end (idempotent)."""

    def __init__(
        self, total: int, label: str, unit: str, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.total, self.label, self.unit = max(int(total), 0), label, unit
        self.done = 0
        self.resumed = 0  # units done elsewhere (a checkpoint): not part of the rate
        self.note = ""
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.total > 0
        self.start = time.monotonic()
        self._last = (-1.0, self.start)
        self._bar = None
        if self.enabled and self.stream.isatty():
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=self.total, desc=label, unit=f" {unit}", file=self.stream,
                                 leave=True)  # fmt: skip
            except ImportError:  # no tqdm: the plain lines below
                self._bar = None

    def line(self) -> str:
        """``label: 120/400 cases (30%), ETA 0:03:10`` (the note, if any, before the ETA)."""
        share = self.done / self.total if self.total else 1.0
        computed = self.done - self.resumed
        elapsed = time.monotonic() - self.start
        eta = elapsed / computed * (self.total - self.done) if computed > 0 else 0.0
        note = f", {self.note}" if self.note else ""
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit} ({share:.0%}){note}, "
            f"ETA {_clock(eta)}"
        )

    def advance(self, n: int = 1, computed: bool = True, note: str = "") -> None:
        """``n`` more units done: ``computed`` here (else resumed from a checkpoint)."""
        self.done = min(self.done + n, self.total) if self.total else self.done + n
        self.resumed += 0 if computed else n
        self.note = note or self.note
        if not self.enabled:
            return
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(n)
            if self.done >= self.total:
                self.close()
            return
        now = time.monotonic()
        share = self.done / self.total
        if self._last[0] >= 1.0:
            return  # the final line is written once
        if share - self._last[0] >= 0.1 or now - self._last[1] >= 60 or self.done == self.total:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last = (share, now)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
