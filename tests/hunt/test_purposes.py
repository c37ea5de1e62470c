"""Cases with one purpose each: what every purpose promises about its cases."""

import math

import numpy as np
import pytest

import oracle
from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.hunt.audit import purpose_cases
from conformance.hunt.coverage import api_form
from conformance.hunt.profiles import PROFILES
from conformance.hunt.structures import structures, weight_form_of
from conformance.judge.expectation import expect

CI = PROFILES["ci"]


def _cases(function, dtype, purpose, seed=0):
    return list(purpose_cases(CI, function, dtype, seed, purpose))


def _keys(function, dtype, purpose, seed):
    return [c.key() for c in _cases(function, dtype, purpose, seed)]


@pytest.mark.parametrize("purpose", ["value", "edge", "contract", "special", "out_of_contract"])
def test_the_same_seed_gives_the_same_cases(purpose):
    f = "binary_cross_entropy_with_logits"
    assert _keys(f, "float32", purpose, 0) == _keys(f, "float32", purpose, 0)


def test_another_seed_gives_other_value_cases():
    f = "binary_cross_entropy"
    assert _keys(f, "float32", "value", 0) != _keys(f, "float32", "value", 1)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_value_cases_are_inside_the_domain_and_finite(function, dtype):
    for case in _cases(function, dtype, "value"):
        for a in case.arrays.values():
            assert np.isfinite(a.astype(np.float64)).all()
        y = case.target.astype(np.float64)
        assert ((0 <= y) & (y <= 1)).all()
        assert expect(case).error is None


@pytest.mark.parametrize("function", FUNCTIONS)
def test_value_cases_visit_every_structure(function):
    seen = set()
    for case in _cases(function, "float64", "value"):
        shape = case.target.shape
        seen.add(
            (
                api_form(case),
                case.effective_reduction,
                weight_form_of(case.weight, shape),
                weight_form_of(case.pos_weight, shape),
            )
        )
    wanted = {(s.api, s.reduction, s.weight, s.pos_weight) for s in structures(function)}
    assert wanted <= seen


def test_weighted_value_cases_have_distinct_weights_across_elements():
    distinct = [
        len(set(c.weight.reshape(-1).tolist()))
        for c in _cases("binary_cross_entropy", "float32", "value")
        if c.weight is not None and c.weight.size > 2
    ]
    assert distinct and np.median(distinct) > 2


def test_small_probabilities_are_not_only_powers_of_two():
    xs = np.concatenate(
        [c.input.reshape(-1) for c in _cases("binary_cross_entropy", "float64", "value")]
    )
    small = xs[(xs > 0) & (xs < 1e-3)]
    mantissas = np.frexp(small)[0]
    assert small.size > 20 and np.mean(mantissas != 0.5) > 0.9


def test_half_of_the_value_cases_carry_an_upstream_gradient():
    cases = _cases("binary_cross_entropy_with_logits", "float32", "value")
    with_go = [c for c in cases if c.grad_output is not None]
    assert len(with_go) == len(cases) // 2
    assert all((c.grad_output != 0).all() for c in with_go)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_contract_case_makes_the_oracle_raise(function):
    cases = _cases(function, "float32", "contract")
    assert cases
    for case in cases:
        assert expect(case).error is not None, case.to_json()


def test_each_bce_contract_case_has_exactly_one_probability_outside_the_unit_interval():
    for case in _cases("binary_cross_entropy", "float64", "contract"):
        x = case.input.astype(np.float64).reshape(-1)
        if x.shape == case.target.reshape(-1).shape:
            outside = ~((0 <= x) & (x <= 1))
            assert outside.sum() <= 1


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_out_of_contract_case_has_exactly_one_excluded_target(function):
    for case in _cases(function, "float32", "out_of_contract"):
        y = case.target.astype(np.float64).reshape(-1)
        assert (~((0 <= y) & (y <= 1))).sum() == 1


def test_out_of_contract_targets_include_an_exact_minus_100():
    ys = np.concatenate(
        [c.target.reshape(-1) for c in _cases("binary_cross_entropy", "float32", "out_of_contract")]
    )
    assert (ys == -100).any()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_edge_cases_cover_0d_and_empty_inputs_under_every_reduction(function):
    seen = {(c.target.shape == (), c.target.size == 0, c.effective_reduction)
            for c in _cases(function, "float16", "edge")}  # fmt: skip
    for reduction in ("none", "mean", "sum"):
        assert (True, False, reduction) in seen
        assert (False, True, reduction) in seen


def test_special_cases_carry_infinities_and_nan_in_the_logits():
    xs = np.concatenate(
        [
            c.input.reshape(-1)
            for c in _cases("binary_cross_entropy_with_logits", "float32", "special")
        ]
    ).astype(np.float64)
    assert np.isposinf(xs).any() and np.isneginf(xs).any() and np.isnan(xs).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_cases_reach_a_hundred_thousand_elements(dtype):
    sizes = {c.target.size for c in _cases("binary_cross_entropy", dtype, "large")}
    assert max(sizes) == 100_000 and min(sizes) == 10_000
    assert math.isfinite(float(oracle.round_to("1", dtype)))
