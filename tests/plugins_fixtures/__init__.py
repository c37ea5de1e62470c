"""Toy backends and plugins for the plugin and isolation tests (importable as plugins_fixtures)."""
