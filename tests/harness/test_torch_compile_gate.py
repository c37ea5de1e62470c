"""torch.compile (Inductor, CPU) under the ci profile's sweep and large purposes: no divergence
class outside reports/baseline.json.

The whole ci profile is not run here: dynamo specializes a compiled graph on the reduction, the
presence of weight and pos_weight, the rank and sizes 0 and 1, so the ci profile's 3,026 cases
need about 1,900 graphs at 0.3-5 s each (the ci report, reports/ci/torch-compile-ci.json, was
built from shards merged with ``bce-conformance render``, and its classes are in the baseline).
These two purposes share graphs: the sweep purpose's 394 one-element cases at the sweeps' worst
inputs need 8 graphs, the large sums and means over 10^4-10^5 elements 48 (with a cold Inductor
cache, each new graph costs seconds of C++ compilation). The out-of-contract purpose is left
out: its classes are not counted by the gate. The cases are those of the same purposes in the
ci report (same seed and budget), so a class found here and not in the baseline is new.
"""

import pytest

from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.findings.tiers import COUNTED_BY_DEFAULT
from conformance.gate.baseline import gate
from conformance.hunt.audit import audit_backend
from conformance.hunt.profiles import PROFILES
from conformance.records import AuditReport

pytest.importorskip("torch")

GATED_PURPOSES = ("sweep", "large")


@pytest.fixture(scope="module")
def compiled():
    from conformance.backends.plugins import load_backend

    return load_backend("torch-compile")


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_no_torch_compile_class_outside_the_baseline(compiled, baseline, function, dtype):
    run = audit_backend(compiled, PROFILES["ci"], seed=0, functions=(function,), dtypes=(dtype,),
                        purposes=GATED_PURPOSES)  # fmt: skip
    report = AuditReport("test", "oracle", "ci", 0, "", runs=[run])
    new = [n for b in gate(report, baseline, COUNTED_BY_DEFAULT).backends for n in b.new]
    assert not new, "\n\n".join(f"NEW {n.class_id}: {n.description}\n{n.reproducer}" for n in new)
