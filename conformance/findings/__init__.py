"""Findings: why a backend diverges, by mechanism (causes checked bit for bit on the records),
and the severity tier of each divergence (conformance.findings.tiers)."""

from conformance.findings.attribution import Attribution, attach_causes, attribute
from conformance.findings.causes import CAUSES, UNEXPLAINED, Cause

__all__ = ["Attribution", "CAUSES", "Cause", "UNEXPLAINED", "attach_causes", "attribute"]
