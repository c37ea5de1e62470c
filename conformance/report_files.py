"""Moved to ``conformance.report.report_files``; this name stays importable for older callers."""

import sys

from conformance.report import report_files as _moved

sys.modules[__name__] = _moved
