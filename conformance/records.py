"""Plain records of an audit: what the reports read and the baseline gate compares.

Records hold only JSON-able data (no arrays, no backend objects). Inputs are stored bit-exactly
as hexadecimal bit patterns of their dtype next to a readable repr, so any example can be replayed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

VERDICTS = (
    "conforms",
    "value_mismatch",  # finite vs finite beyond the ULP / condition-aware tolerance
    "nan_mismatch",  # NaN where a number was due, or a number where NaN was due
    "inf_mismatch",  # inf vs finite (either way), or the wrong infinity
    "shape_mismatch",  # result of the wrong shape
    "dtype_mismatch",  # result of the right shape in the wrong dtype
    "raised",  # the backend raised where the documented contract is met
    "did_not_raise",  # the backend returned a value where the contract is violated
    "unsupported",  # the backend does not offer this dtype / form / gradient
    "crashed",  # the backend process died or the adapter failed
    "timeout",  # the backend did not answer in time
)
DIVERGENT = frozenset(VERDICTS) - {"conforms", "unsupported"}


@dataclass
class Example:
    """One concrete case with what the oracle and the backend said about it."""

    case: dict[str, Any]  # conformance.cases.Case.to_json()
    quantity: str  # "value" or "grad_<argument>"
    element: list[int] | None  # index of the worst element in the quantity's array
    expected: str  # oracle: the correctly rounded value at that element (repr), or the error
    expected_exact: str  # oracle: the exact value in decimal (30 digits), or ""
    got: str  # backend: its value at that element (repr), or the exception text
    ulp: float | None  # ULP distance at that element, when both are numbers
    condition_error: float | None  # |got - exact| / (u * sum |terms|), reductions only
    reproducer: str  # copy-paste snippet in the backend's own API


@dataclass
class DivergenceClass:
    """Every example sharing backend, function, dtype, quantity, verdict and input regime."""

    class_id: (
        str  # stable key, e.g. "binary_cross_entropy/float32/grad_input/value_mismatch/x=0,y=1"
    )
    function: str
    dtype: str
    quantity: str
    verdict: str
    regime: str  # e.g. "x=0,y=1", "x:tail+,y=1", "reduction=sum"
    description: str  # one line for people
    count: int
    max_ulp: float | None
    minimal: Example
    worst: Example
    tier: str = "defect"  # defect | contract | convention | out_of_contract (findings.tiers)
    purpose: str = ""  # the hunt purpose that found it: value, edge, contract, special, ...
    found_in: Example | None = None  # the case the minimal one was reduced from, if reduced
    # Findings (conformance.findings.attach_causes); empty in reports written before them.
    cause: str = ""  # a cause id of conformance.findings.causes, or "unexplained"
    mechanism: str = ""  # the cause's one-line mechanism
    evidence: str = ""  # e.g. "reproduced bit for bit on 2 of 2 example(s) (minimal and worst)"
    source: str = ""  # kernel source location where known


@dataclass
class VerdictCount:
    function: str
    dtype: str
    quantity: str
    verdict: str
    count: int
    max_ulp: float | None = None


@dataclass
class ScanPoint:
    """One element of the sparse (input, target) error scan of older reports; new reports hold
    ScanSeries (``BackendRun.scans``)."""

    function: str
    dtype: str
    x: float
    y: float
    ulp: float | None  # None where the backend gave no number (raised, unsupported, ...)
    verdict: str


@dataclass
class ScanSeries:
    """One quantity of the error scan of one (function, dtype), in columns: point i is
    (x[i], y[i]) with its verdict and errors (conformance.hunt.scan).

    ``x`` and ``y`` are the shortest decimals that read back to the arguments in ``dtype``.
    ``relative_error`` is |got - r| / |r| against the correctly rounded value r, to three
    digits: 0 where got is r, inf where r is 0 and got is not, None where either is not a finite
    number; ``got_special`` and ``expected_special`` then say which ("nan", "inf", "-inf"; ""
    for a finite number). ``ulp`` is the judged ULP distance (None where not finite). A series
    without points says why in ``note`` (the backend declined or rejected the call).
    """

    function: str
    dtype: str
    quantity: str  # "value" or "grad_<argument>"
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    verdict: list[str] = field(default_factory=list)
    ulp: list[float | None] = field(default_factory=list)
    relative_error: list[float | None] = field(default_factory=list)
    got_special: list[str] = field(default_factory=list)
    expected_special: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class PurposeCount:
    """How many cases of one purpose were generated and actually compared."""

    function: str
    dtype: str
    purpose: str
    generated: int
    compared: int  # cases with at least one value comparison or contract check
    declined: int  # cases the backend declined entirely (unsupported): not cases
    floor: int  # the profile's minimum of compared cases


@dataclass
class BackendRun:
    backend: str
    version: str
    device: str
    status: str  # "completed" | "crashed" | "timeout" | "setup_error"
    message: str = ""
    cases: int = 0
    seconds: float = 0.0
    counts: list[VerdictCount] = field(default_factory=list)
    divergences: list[DivergenceClass] = field(default_factory=list)
    scan: list[ScanPoint] = field(default_factory=list)
    value_comparisons: int = 0
    contract_checks: int = 0
    purposes: list[PurposeCount] = field(default_factory=list)
    # [function, dtype, reduction, api, weight form, pos_weight form, quantity, n_value, n_contract]
    coverage: list[list] = field(default_factory=list)
    # [function, dtype, reduction, api, weight form, pos_weight form, quantity, reason]
    untested: list[list] = field(default_factory=list)
    scans: list[ScanSeries] = field(default_factory=list)  # the error scan for the plots


@dataclass
class AuditReport:
    tool_version: str
    oracle: str
    profile: str
    seed: int
    created: str
    runs: list[BackendRun] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data; a ``found_in`` example is written without its reproducer
        (the larger original case: the minimal example's reproducer is the one to run)."""
        data = asdict(self)
        for run in data["runs"]:
            for cls in run["divergences"]:
                if cls.get("found_in"):
                    cls["found_in"]["reproducer"] = ""
        return data


def report_from_json(data: dict[str, Any]) -> AuditReport:
    """Rebuild an AuditReport from its JSON form (the inverse of ``to_json``)."""
    runs = []
    for r in data.get("runs", []):
        divergences = [
            DivergenceClass(
                **{
                    **d,
                    "minimal": Example(**d["minimal"]),
                    "worst": Example(**d["worst"]),
                    "found_in": Example(**d["found_in"]) if d.get("found_in") else None,
                }
            )
            for d in r.get("divergences", [])
        ]
        runs.append(
            BackendRun(
                **{
                    **r,
                    "counts": [VerdictCount(**c) for c in r.get("counts", [])],
                    "divergences": divergences,
                    "scan": [ScanPoint(**p) for p in r.get("scan", [])],
                    "scans": [ScanSeries(**p) for p in r.get("scans", [])],
                    "purposes": [PurposeCount(**p) for p in r.get("purposes", [])],
                }
            )
        )
    return AuditReport(**{**data, "runs": runs})
