"""Moved to ``conformance.gate.baseline``; this name stays importable for older callers."""

import sys

from conformance.gate import baseline as _moved

sys.modules[__name__] = _moved
