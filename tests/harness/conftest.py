"""Fixtures of the conformance tests: backends loaded once per session, and the baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.backends.plugins import load_backend
from conformance.gate.baseline import load_baseline

BASELINE = Path(__file__).resolve().parents[2] / "reports" / "baseline.json"


@pytest.fixture(scope="session")
def backend(backend_spec):
    return load_backend(backend_spec)


@pytest.fixture(scope="session")
def numpy_backend():
    return load_backend("numpy")


@pytest.fixture(scope="session")
def baseline():
    return load_baseline(BASELINE)
