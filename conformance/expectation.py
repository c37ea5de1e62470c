"""Moved to ``conformance.judge.expectation``; this name stays importable for older callers."""

import sys

from conformance.judge import expectation as _moved

sys.modules[__name__] = _moved
