"""Audit profiles: how hard to hunt, purpose by purpose.

Each profile sets, per (function, dtype), the number of cases of every purpose
(conformance.hunt.purposes) and a *floor*: the least number of cases of that purpose that must
actually be compared (a declined call is not a case). ``run`` names every purpose under its
floor, so a thin audit is never silent.

* ``ci``: deterministic and quick (numpy, torch and paddle within a few minutes on 2 cores).
  The value budget visits every structure (API form × reduction × weight form × pos_weight form)
  at least twice.
* ``dev``: about four times the ci budget, with the error scan for the plots.
* ``deep``: the published reports: about 104 times the ci value budget, sixteen times the
  others, reductions up to 10^7, and at least 10^5 compared cases per backend: a backend that
  declares some dtypes unsupported (paddle on CPU: no float16/bfloat16 kernels) has their
  budget spread over the dtypes it supports (``spread``), so every backend gets as many
  comparisons. (208 visits per structure: paddle also declines legacy arguments and strided or
  expanded layouts, and 192 left it at 97,128 compared cases.)
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.hunt.large import KINDS
from conformance.hunt.structures import structures


@dataclass(frozen=True)
class Profile:
    name: str
    visits: int  # value cases per structure
    contract: int  # contract cases per (function, dtype)
    special: int
    out_of_contract: int
    edge: bool  # 0-d and empty inputs under every structure
    large_sizes: tuple[int, ...]
    minimize: bool  # reduce each class's first example to one element
    scan: bool  # the (input, target) error scan for the plots
    spread: bool = False  # unsupported dtypes' budget goes to the supported ones

    def budget(self, function: str, purpose: str, scale: int = 1) -> int:
        """Cases of ``purpose`` per (function, dtype); the drawn purposes' budgets times
        ``scale`` (``spread``: requested dtypes // supported ones; edge and large are fixed)."""
        if purpose == "value":
            return self.visits * len(structures(function)) * scale
        if purpose == "large":
            return len(self.large_sizes) * len(KINDS) * 2
        return scale * {
            "layout": self.contract,
            "mixed": self.contract,
            "contract": self.contract,
            "special": self.special,
            "out_of_contract": self.out_of_contract,
        }.get(purpose, 0)

    def scale(self, requested: int, supported: int) -> int:
        """The budget factor of each supported dtype when ``supported`` of the ``requested``
        dtypes are supported by the backend (1 unless ``spread``)."""
        if not self.spread or supported <= 0:
            return 1
        return max(1, requested // supported)

    def floor(self, function: str, purpose: str) -> int:
        """Compared cases of ``purpose`` below which ``run`` says the audit is thin."""
        if purpose == "value":
            return len(structures(function))  # every structure at least once
        if purpose == "edge":
            return 1 if self.edge else 0
        return min(self.budget(function, purpose), 8)


PROFILES = {
    "ci": Profile("ci", 2, 16, 24, 7, True, (10_000, 100_000), True, False),
    "dev": Profile("dev", 4, 48, 64, 21, True, (10_000, 100_000, 1_000_000), True, True),
    "deep": Profile(
        "deep",
        208,
        384,
        768,
        168,
        True,
        (10_000, 100_000, 1_000_000, 10_000_000),
        True,
        True,
        spread=True,
    ),
}
