"""Findings: tiers of divergences (and, in time, their causes by mechanism)."""
