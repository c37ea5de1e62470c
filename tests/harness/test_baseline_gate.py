"""Every backend, under the ci profile: no divergence class outside reports/baseline.json.

This is `bce-conformance run --profile ci --baseline reports/baseline.json` split by function
and dtype, so a failure points at its cell. Known divergences of torch and paddle are results,
recorded with their explanations in the baseline; only a new or unexplained class fails.
"""

import pytest

from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.findings.tiers import COUNTED_BY_DEFAULT
from conformance.gate.baseline import gate
from conformance.hunt.audit import audit_backend
from conformance.hunt.profiles import PROFILES
from conformance.records import AuditReport


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_no_divergence_class_outside_the_baseline(backend, baseline, function, dtype):
    run = audit_backend(backend, PROFILES["ci"], seed=0, functions=(function,), dtypes=(dtype,))
    report = AuditReport("test", "oracle", "ci", 0, "", runs=[run])
    new = [n for b in gate(report, baseline, COUNTED_BY_DEFAULT).backends for n in b.new]
    assert not new, "\n\n".join(f"NEW {n.class_id}: {n.description}\n{n.reproducer}" for n in new)
