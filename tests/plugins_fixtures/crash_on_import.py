"""A plugin module whose import kills the process (for the isolation start-up test)."""

import os

os._exit(3)
