"""Moved to ``conformance.judge.evaluate``; this name stays importable for older callers."""

import sys

from conformance.judge import evaluate as _moved

sys.modules[__name__] = _moved
