"""Large reductions: recipes, exact expectations from the pool, and the pairwise bound."""

import numpy as np
import pytest

import oracle
from conformance.backends.plugins import load_backend
from conformance.cases import Case, CaseError
from conformance.hunt.audit import audit_backend
from conformance.hunt.large import large_case
from conformance.hunt.profiles import Profile
from conformance.judge.expectation import expect

LOGITS = "binary_cross_entropy_with_logits"


def test_a_recipe_regenerates_the_same_arrays_bit_for_bit():
    case = large_case(LOGITS, "float32", "random", 10_000, 3, "mean", "full")
    again = Case.from_json(case.to_json())
    assert again.key() == case.key()
    assert "input" not in case.to_json() and case.to_json()["recipe"]["n"] == 10_000


def test_a_bad_recipe_is_a_case_error():
    data = {"function": LOGITS, "dtype": "float32", "recipe": {"kind": "huge", "n": 5}}
    with pytest.raises(CaseError, match="recipe.kind"):
        Case.from_json(data)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weight", ["none", "scalar", "full"])
def test_the_pool_expectation_equals_the_oracle_on_the_whole_array(reduction, weight):
    case = large_case("binary_cross_entropy", "float32", "mixed", 300, 0, reduction, weight)
    grads = ("input", "target") + (("weight",) if weight != "none" else ())
    pooled = expect(case, grads)
    direct = oracle.binary_cross_entropy(
        case.input, case.target, weight=case.weight, reduction=reduction
    )
    assert pooled.quantities["value"].rounded.tobytes() == direct.rounded("float32").tobytes()
    for g in grads:
        want = direct.gradient(g, "float32")
        assert pooled.quantities[f"grad_{g}"].rounded.tobytes() == want.tobytes()


_ONLY_LARGE = Profile("large", 0, 0, 0, 0, False, (100_000,), False, False)


def _value_classes(spec):
    run = audit_backend(
        load_backend(spec),
        _ONLY_LARGE,
        functions=(LOGITS,),
        dtypes=("float32",),
        purposes=("large",),
    )
    return [d.class_id for d in run.divergences if d.quantity == "value"]


def test_a_sequential_float32_accumulation_of_1e5_terms_is_flagged():
    assert any(
        "large:constant" in c for c in _value_classes("tests.hunt.toy_accumulators:sequential")
    )


def test_a_pairwise_float32_accumulation_of_1e5_terms_conforms():
    assert _value_classes("tests.hunt.toy_accumulators:pairwise") == []


def test_float16_sum_of_equal_terms_is_exact_in_the_oracle():
    case = large_case("binary_cross_entropy", "float16", "constant", 10_000, 0, "sum")
    got = expect(case).quantities["value"].exact[()]
    x, y = case.input.reshape(-1)[0], case.target.reshape(-1)[0]
    one = oracle.binary_cross_entropy(np.array([x]), np.array([y]), reduction="sum").exact()[()]
    assert got.approximate() == pytest.approx(one.approximate() * 10_000, rel=1e-12)


def test_a_report_holds_a_large_cases_recipe_never_its_arrays():
    import json

    from conformance.records import AuditReport

    run = audit_backend(
        load_backend("tests.hunt.toy_accumulators:sequential"),
        _ONLY_LARGE,
        functions=(LOGITS,),
        dtypes=("float32",),
        purposes=("large",),
    )
    assert run.divergences
    text = json.dumps(AuditReport("t", "o", "large", 0, "", runs=[run]).to_json())
    assert len(text) < 200_000
    assert all("recipe" in d.minimal.case for d in run.divergences)


def _check_pool(case, first, inverse):
    columns = [a.reshape(-1) for a in (case.input, case.target, case.weight) if a is not None]
    for flat in columns:
        assert np.array_equal(flat[first][inverse].view(np.uint8), flat.view(np.uint8))
    rows = {tuple(c[i].tobytes() for c in columns) for i in first}
    assert len(rows) == first.size  # the pool entries are distinct


def test_the_pool_maps_every_element_to_an_equal_entry():
    from conformance.hunt.large import large_case, pool_of

    case = large_case("binary_cross_entropy", "float32", "random", 10_000, 0, "mean", "full")
    first, inverse = pool_of(case)
    _check_pool(case, first, inverse)


def test_colliding_keys_fall_back_to_the_row_wise_pool(monkeypatch):
    import conformance.hunt.large as large

    monkeypatch.setattr(large, "_MIX", (0, 0, 0))  # every key 0: one false pool entry
    case = large.large_case("binary_cross_entropy", "float32", "mixed", 10_000, 0, "sum")
    first, inverse = large.pool_of(case)
    assert first.size > 1
    _check_pool(case, first, inverse)
