"""The ``reduction`` argument and the legacy ``size_average`` / ``reduce`` pair.

Documented: "specifying either of those two args will override reduction"; ``reduce=False``
"returns a loss per batch element instead and ignores size_average"; with ``reduce`` true (or
None: "Default: True"), ``size_average`` false sums and true (or None) averages. This is
PyTorch's ``_Reduction.legacy_get_string``.
"""

from __future__ import annotations

from oracle.errors import OracleReductionError

REDUCTIONS = ("none", "mean", "sum")


def resolve_reduction(
    reduction: str, size_average: bool | None = None, reduce: bool | None = None
) -> str:
    """The effective reduction, 'none' | 'mean' | 'sum'."""
    if size_average is not None or reduce is not None:
        if reduce is None or reduce:
            return "mean" if size_average is None or size_average else "sum"
        return "none"
    if reduction not in REDUCTIONS:
        raise OracleReductionError(
            f"reduction: {reduction!r} is not a valid value; expected 'none', 'mean' or 'sum'"
        )
    return reduction
