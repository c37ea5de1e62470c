"""Data files of the hunt (conformance.hunt.sweep_worst)."""
