"""The audit's examples depend on the seed alone, not on which modules happen to be imported.

Hypothesis mixes literals harvested from loaded local modules into its draws; the CI gate runs
the audit under pytest (many modules loaded) against a baseline made from the command line (few),
so without this the same seed would give other cases and other verdicts.
"""

import hashlib
import importlib
import sys

from conformance.audit import _explore
from conformance.profiles import PROFILES
from conformance.strategies import cases


def _fingerprint(seed: int) -> str:
    keys: list[bytes] = []
    strategy = cases(functions=("binary_cross_entropy_with_logits",), dtypes=("float32",))
    _explore(strategy, PROFILES["ci"], seed, lambda case: keys.append(case.key()))
    return hashlib.sha1(b"".join(keys)).hexdigest()


def test_same_seed_gives_the_same_cases_after_importing_a_module_full_of_literals(
    tmp_path, monkeypatch
):
    before = _fingerprint(0)
    (tmp_path / "lots_of_literals.py").write_text(
        "VALUES = [" + ", ".join(repr(0.123456 * k + 7.5) for k in range(200)) + "]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("lots_of_literals")
    try:
        assert _fingerprint(0) == before
    finally:
        sys.modules.pop("lots_of_literals", None)


def test_another_seed_gives_other_cases():
    assert _fingerprint(0) != _fingerprint(1)
