"""Conformance suite for the binary cross-entropy losses: backends, harness, verdicts, reports."""

__version__ = "0.1.0"
