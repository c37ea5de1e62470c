"""Build reports/baseline.json from audit reports: ``conformance.gate.make`` (see its docstring).

python reports/make_baseline.py reports/*-deep.json reports/ci/*.json -o reports/baseline.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.gate.make import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
