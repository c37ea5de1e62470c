"""Moved to ``conformance.judge.comparison``; this name stays importable for older callers."""

import sys

from conformance.judge import comparison as _moved

sys.modules[__name__] = _moved
