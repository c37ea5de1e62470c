"""A certified arbitrary-precision oracle of the documented binary cross-entropy losses.

    >>> import oracle
    >>> r = oracle.binary_cross_entropy_with_logits([1.5], [1.0])
    >>> r.rounded("float32")            # -log(sigmoid(1.5)), correctly rounded
    array(0.20141327, dtype=float32)

Every rounded value is proved correct (see oracle.linear_forms); the semantics are written down
in docs/semantics.md.
"""

from oracle.errors import (
    OracleDomainError,
    OracleError,
    OracleReductionError,
    OracleShapeError,
    UncertifiedError,
    UnknownFormatError,
    UnsupportedPointError,
)
from oracle.extended import Ext
from oracle.formats import FORMATS, Format, format_of, round_to, ulp_distance
from oracle.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
)
from oracle.reduction import resolve_reduction
from oracle.result import LossResult

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "Ext",
    "FORMATS",
    "Format",
    "LossResult",
    "OracleDomainError",
    "OracleError",
    "OracleReductionError",
    "OracleShapeError",
    "UncertifiedError",
    "UnknownFormatError",
    "UnsupportedPointError",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "format_of",
    "resolve_reduction",
    "round_to",
    "ulp_distance",
]
