"""Mixed dtypes: an error, the promoted dtype or the input's dtype are accepted readings."""

import numpy as np
import pytest

from conformance.backends.plugins import load_backend, resolve_backend
from conformance.cases import Case, result_dtype
from conformance.hunt.audit import audit_backend, purpose_cases
from conformance.hunt.profiles import PROFILES

CI = PROFILES["ci"]
LOGITS = "binary_cross_entropy_with_logits"


def _case(dtype, **mixed):
    x = np.array([0.5], dtype=dtype)
    return Case(LOGITS, dtype, x, x.copy(), argument_dtypes=mixed)


@pytest.mark.parametrize(
    "dtype, mixed, promoted",
    [
        ("float32", {"target": "float64"}, "float64"),
        ("float64", {"weight": "float16"}, "float64"),
        ("float16", {"target": "bfloat16"}, "float32"),
        ("bfloat16", {"pos_weight": "float32"}, "float32"),
    ],
)
def test_the_promoted_dtype_is_the_widest_and_float16_with_bfloat16_is_float32(
    dtype, mixed, promoted
):
    assert result_dtype(_case(dtype, **mixed)) == promoted


def test_mixed_cases_visit_every_argument_and_other_dtype():
    cases = list(purpose_cases(CI, LOGITS, "float32", 0, "mixed"))
    pairs = {next(iter(c.argument_dtypes.items())) for c in cases}
    assert {a for a, _ in pairs} == {"target", "weight", "pos_weight"}
    assert {d for _, d in pairs} == {"float64", "float16", "bfloat16"}
    for c in cases:
        ((name, other),) = c.argument_dtypes.items()
        assert str(getattr(c, name).dtype) == other


def test_a_mixed_case_round_trips_through_json():
    case = next(iter(purpose_cases(CI, LOGITS, "float16", 0, "mixed")))
    again = Case.from_json(case.to_json())
    assert again.key() == case.key() and again.argument_dtypes == case.argument_dtypes


class _InputDtype:
    """Computes in float64 and returns the input's dtype (an accepted reading)."""

    def binary_cross_entropy_with_logits(self, input, target, weight=None, pos_weight=None,
                                         reduction="mean"):  # fmt: skip
        from conformance.backends import numpy_kernel as K

        args = [None if a is None else a.astype(np.float64) for a in (weight, pos_weight)]
        out = K.binary_cross_entropy_with_logits(
            input.astype(np.float64), target.astype(np.float64), *args, reduction=reduction
        )
        return np.asarray(out).astype(input.dtype)


class _TargetDtype(_InputDtype):
    """Returns the target's dtype: neither promoted nor the input's."""

    def binary_cross_entropy_with_logits(self, input, target, *args, **kwargs):
        out = super().binary_cross_entropy_with_logits(input, target, *args, **kwargs)
        return out.astype(np.float64).astype(target.dtype)


def _mixed_run(plugin):
    backend = resolve_backend(plugin, "toy")
    return audit_backend(backend, CI, functions=(LOGITS,), dtypes=("float32",), purposes=("mixed",))


def test_returning_the_inputs_dtype_conforms():
    run = _mixed_run(_InputDtype())
    assert run.value_comparisons > 0 and not run.divergences


def test_returning_the_targets_narrower_dtype_is_a_convention_divergence():
    run = _mixed_run(_TargetDtype())
    mismatches = [d for d in run.divergences if d.verdict == "dtype_mismatch"]
    assert mismatches and {d.tier for d in mismatches} == {"convention"}
    assert all(d.regime.startswith("mixed-dtypes:target=") for d in mismatches)


def test_the_numpy_kernel_promotes_and_conforms():
    run = audit_backend(load_backend("numpy"), CI, dtypes=("float16",), purposes=("mixed",))
    assert run.value_comparisons > 0 and not run.divergences


class _NarrowIntermediate(_InputDtype):
    """With a float16 argument, rounds the loss through float16 (a narrow intermediate)."""

    def binary_cross_entropy_with_logits(self, input, target, weight=None, pos_weight=None,
                                         reduction="mean"):  # fmt: skip
        out = super().binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)
        narrow = any(a is not None and a.dtype == np.float16 for a in (target, weight, pos_weight))
        with np.errstate(over="ignore"):
            return out.astype(np.float16).astype(input.dtype) if narrow else out


def test_a_mixed_dtype_value_divergence_is_one_class_per_regime_whatever_the_argument():
    run = _mixed_run(_NarrowIntermediate())
    values = [d for d in run.divergences if d.verdict == "value_mismatch"]
    assert values and all(d.regime.endswith(",mixed-dtypes") for d in values)
    assert not any("mixed-dtypes:" in d.regime for d in values)  # no argument=dtype split
