"""Moved to ``conformance.judge.tolerances``; this name stays importable for older callers."""

import sys

from conformance.judge import tolerances as _moved

sys.modules[__name__] = _moved
