"""Moved to ``conformance.report.report_json``; this name stays importable for older callers."""

import sys

from conformance.report import report_json as _moved

sys.modules[__name__] = _moved
