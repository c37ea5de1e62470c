"""The oracle's exceptions: one base class, each message naming the offending argument."""

from __future__ import annotations


class OracleError(Exception):
    """Base class of every error the oracle raises on purpose."""


class OracleDomainError(OracleError, ValueError):
    """An argument violates the documented contract (e.g. a probability outside [0, 1])."""


class OracleShapeError(OracleDomainError):
    """Shapes that the documentation does not allow (mismatch, or a weight that won't broadcast)."""


class OracleReductionError(OracleDomainError):
    """An unknown ``reduction`` string."""


class UnknownFormatError(OracleError, ValueError):
    """A dtype the oracle does not round into."""


class UncertifiedError(OracleError, ArithmeticError):
    """The precision cap was reached before the rounding could be proved; no guess is returned."""


class UnsupportedPointError(OracleError):
    """A point whose value the oracle does not decide (documented in docs/semantics.md)."""
