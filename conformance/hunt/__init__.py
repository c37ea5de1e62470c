"""The hunt: cases with one purpose each, the audit loop, coverage, minimization, profiles."""
