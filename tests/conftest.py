"""Shared pytest configuration: Hypothesis profiles and the ``--backend`` option.

Profiles (``pytest --hypothesis-profile=NAME``): ``ci`` (default; derandomized, so the same run
gives the same verdicts), ``dev`` and ``deep`` (long audits).
"""

from __future__ import annotations

import importlib.util

from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True
)
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("dev", max_examples=300, **_COMMON)
settings.register_profile("deep", max_examples=3000, **_COMMON)
settings.load_profile("ci")

DEFAULT_BACKENDS = ("numpy", "torch", "paddle", "jax", "tensorflow", "onnxruntime")


def _installed(name: str) -> bool:
    """A registered backend whose framework imports; anything else is tried as given."""
    from conformance.backends.plugins import _FRAMEWORK

    module = _FRAMEWORK.get(name)
    return module is None or importlib.util.find_spec(module) is not None


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="append",
        default=None,
        help="backend(s) for the conformance tests (numpy, torch, paddle, module:attr); "
        "default: numpy, torch, paddle, tensorflow and onnxruntime where installed",
    )


def pytest_generate_tests(metafunc):
    if "backend_spec" in metafunc.fixturenames:
        specs = metafunc.config.getoption("backend") or [
            b for b in DEFAULT_BACKENDS if _installed(b)
        ]
        metafunc.parametrize("backend_spec", specs, scope="session")
