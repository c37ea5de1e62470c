"""Moved to ``conformance.report.report_markdown``; this name stays importable for older callers."""

import sys

from conformance.report import report_markdown as _moved

sys.modules[__name__] = _moved
