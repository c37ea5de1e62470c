"""Audit profiles: how hard to hunt.

* ``ci``: deterministic and quick (all three backends within a few minutes on 2 cores); no
  shrinking, so a class's "minimal" example is the first one found.
* ``dev``: more examples, failing examples shrunk to a minimal case, the error scan for the plots.
* ``deep``: long audits for the published reports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int  # Hypothesis examples per (function, dtype)
    shrink: bool
    max_shrunk_classes: int
    scan: bool


PROFILES = {
    "ci": Profile("ci", examples=60, shrink=False, max_shrunk_classes=0, scan=False),
    "dev": Profile("dev", examples=200, shrink=True, max_shrunk_classes=12, scan=True),
    "deep": Profile("deep", examples=800, shrink=True, max_shrunk_classes=25, scan=True),
}
