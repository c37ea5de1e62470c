"""Our own NumPy kernel against the oracle: it must conform everywhere, with no baseline."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.assertions import assert_conforms
from conformance.backends.protocol import DTYPES, FUNCTIONS
from conformance.strategies import cases

FLOATS = DTYPES


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_numpy_kernel_matches_oracle(numpy_backend, function, dtype, data):
    assert_conforms(numpy_backend, data.draw(cases(functions=(function,), dtypes=(dtype,))))


@given(
    case=cases(
        functions=("binary_cross_entropy",),
        dtypes=FLOATS,
        regimes=("clamp", "near_one", "near_zero", "zero_one"),
    )
)
def test_numpy_bce_matches_oracle_at_the_clamp_and_the_ends(numpy_backend, case):
    assert_conforms(numpy_backend, case)


@given(
    case=cases(
        functions=("binary_cross_entropy_with_logits",),
        dtypes=FLOATS,
        regimes=("tail", "far_tail", "inf"),
    )
)
def test_numpy_logits_match_oracle_in_the_tails(numpy_backend, case):
    assert_conforms(numpy_backend, case)
