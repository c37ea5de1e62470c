"""JSON Schemas shipped with the conformance suite (package data, read via importlib.resources)."""
