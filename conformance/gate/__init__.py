"""The gate: baseline files of known divergence classes and the check that fails a run only on
classes the baseline does not hold (baseline), and building a baseline from reports (make)."""
