"""Moved to ``conformance.report.report_html``; this name stays importable for older callers."""

import sys

from conformance.report import report_html as _moved

sys.modules[__name__] = _moved
