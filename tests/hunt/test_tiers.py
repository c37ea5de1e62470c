"""Severity tiers, decided at the divergent element (conformance.findings.tiers)."""

import math

import numpy as np

from conformance.cases import Case
from conformance.findings.tiers import counted_tiers, tier_of

LOGITS = "binary_cross_entropy_with_logits"


def _case(function, x, y, w=None, reduction="none"):
    a = lambda v: None if v is None else np.array(v, dtype=np.float32)  # noqa: E731
    return Case(function, "float32", a(x), a(y), weight=a(w), reduction=reduction)


def test_a_finite_in_contract_element_is_a_defect():
    assert (
        tier_of(_case(LOGITS, [1.5, 2.0], [1.0, 0.0]), "value", "value_mismatch", (1,)) == "defect"
    )


def test_a_target_outside_the_unit_interval_is_out_of_contract_in_both_functions():
    for function, x in ((LOGITS, 1.5), ("binary_cross_entropy", 0.5)):
        case = _case(function, [x, x], [0.5, -100.0])
        assert tier_of(case, "value", "nan_mismatch", (1,)) == "out_of_contract"
        assert tier_of(case, "value", "value_mismatch", (0,)) == "defect"


def test_an_infinite_target_is_out_of_contract():
    assert (
        tier_of(_case(LOGITS, [1.0], [-math.inf]), "value", "nan_mismatch", (0,))
        == "out_of_contract"
    )


def test_an_infinite_logit_is_a_convention():
    assert (
        tier_of(_case(LOGITS, [math.inf], [1.0]), "grad_input", "nan_mismatch", (0,))
        == "convention"
    )


def test_nan_swallowed_in_the_value_is_a_defect_but_in_a_gradient_a_convention():
    case = _case(LOGITS, [math.nan], [1.0])
    assert tier_of(case, "value", "nan_mismatch", (0,)) == "defect"
    assert tier_of(case, "grad_target", "nan_mismatch", (0,)) == "convention"


def test_the_clamp_derivative_is_a_convention():
    case = _case("binary_cross_entropy", [0.0], [1.0])
    assert tier_of(case, "grad_input", "inf_mismatch", (0,)) == "convention"
    assert tier_of(case, "grad_target", "inf_mismatch", (0,)) == "defect"


def test_raising_on_valid_input_is_a_contract_divergence():
    assert tier_of(_case(LOGITS, [1.0], [1.0]), "value", "raised", None) == "contract"
    assert tier_of(_case(LOGITS, [1.0], [1.0]), "value", "did_not_raise", None) == "contract"


def test_a_reduction_takes_the_most_lenient_tier_of_its_elements():
    case = _case(LOGITS, [1.0, math.inf], [1.0, 0.0], reduction="sum")
    assert tier_of(case, "value", "nan_mismatch", ()) == "convention"


def test_default_counts_defect_and_contract_and_strict_counts_all():
    assert counted_tiers(False) == {"defect", "contract"}
    assert counted_tiers(True) == {"defect", "contract", "convention", "out_of_contract"}
