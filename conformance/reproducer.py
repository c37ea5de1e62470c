"""Moved to ``conformance.report.reproducer``; this name stays importable for older callers."""

import sys

from conformance.report import reproducer as _moved

sys.modules[__name__] = _moved
