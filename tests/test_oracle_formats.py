"""The oracle's formats: exact decoding, direct correct rounding at every boundary, ULP distance.

Expected values are closed forms in powers of two; the exhaustive checks use the formats' own
definitions (every bit pattern decodes and re-rounds to itself).
"""

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from mpmath import mp

import oracle
from oracle.formats import FORMATS, decode_bits, from_bits, round_rational_bits, ulp_distance

F = Fraction
TWO = Fraction(2)


def bits(value, dtype):
    fmt = FORMATS[dtype]
    return int(np.asarray(oracle.round_to(value, dtype)).reshape(1).view(fmt.uint_dtype)[0])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_every_16_bit_pattern_decodes_and_rounds_back_to_itself(dtype):
    fmt = FORMATS[dtype]
    for b in range(1 << 16):
        v = decode_bits(b, fmt)
        if isinstance(v, Fraction):  # -0.0 decodes to the exact 0, which rounds to +0
            assert round_rational_bits(v, fmt) == (b if v != 0 else 0)


@pytest.mark.parametrize(
    "dtype, max_bits",
    [
        ("float64", 0x7FEFFFFFFFFFFFFF),
        ("float32", 0x7F7FFFFF),
        ("float16", 0x7BFF),
        ("bfloat16", 0x7F7F),
    ],
)
def test_largest_finite_rounds_to_itself_and_half_ulp_above_overflows(dtype, max_bits):
    fmt = FORMATS[dtype]
    p, emax = fmt.precision, fmt.emax
    largest = (2 - TWO ** (1 - p)) * TWO**emax
    threshold = (2 - TWO ** (-p)) * TWO**emax  # the midpoint between max and 2**(emax+1)
    assert bits(largest, dtype) == max_bits
    assert bits(threshold - TWO ** (emax - 2 * p), dtype) == max_bits
    assert bits(threshold, dtype) == fmt.inf_bits  # a tie rounds to even: the "even" is inf
    assert bits(-threshold, dtype) == fmt.inf_bits | fmt.sign_bit


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_half_the_smallest_subnormal_ties_to_zero_and_anything_above_rounds_up(dtype):
    fmt = FORMATS[dtype]
    tiny = TWO**fmt.quantum_min
    assert bits(tiny, dtype) == 1
    assert bits(tiny / 2, dtype) == 0
    assert bits(tiny / 2 + tiny / 2**80, dtype) == 1
    assert bits(3 * tiny / 2, dtype) == 2  # tie between 1 and 2 ulps: even is 2
    assert bits(-tiny / 4, dtype) == fmt.sign_bit  # a negative value that rounds to zero is -0


def test_float64_subnormal_boundary_is_rounded_correctly_where_float_of_mpf_is_not():
    # 2**-1075 * (1 + 2**-60) is just above half the smallest subnormal: it must round up.
    with mp.workprec(128):
        value = mp.mpf(2) ** -1075 * (1 + mp.mpf(2) ** -60)
    assert bits(value, "float64") == 1
    assert float(value) == 0.0  # mpmath's own conversion gets this wrong


def test_float32_rounding_is_direct_not_through_float64():
    # 1 + 2**-24 + 2**-60 rounds up in float32, but via float64 it becomes the tie 1 + 2**-24,
    # which then rounds to even (down): double rounding.
    value = 1 + TWO**-24 + TWO**-60
    assert bits(value, "float32") == 0x3F800001
    assert np.float32(float(value)) == np.float32(1.0)


@pytest.mark.parametrize(
    "dtype, p", [("float64", 53), ("float32", 24), ("float16", 11), ("bfloat16", 8)]
)
def test_ties_round_to_even_at_one(dtype, p):
    one = bits(1, dtype)
    assert bits(1 + TWO**-p, dtype) == one
    assert bits(1 + 3 * TWO**-p, dtype) == one + 2
    assert bits(1 + TWO**-p + TWO ** (-3 * p), dtype) == one + 1


def test_random_float64_values_round_to_float32_and_float16_as_numpy_converts_them():
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.standard_normal(2000) * 10.0 ** rng.integers(-50, 50, 2000),
            rng.standard_normal(500) * 1e-6,
        ]
    )
    for v in values:
        with np.errstate(over="ignore"):
            want32, want16 = np.float32(v), np.float16(v)
        assert oracle.round_to(float(v), "float32") == want32
        assert oracle.round_to(float(v), "float16").view(np.uint16) == want16.view(np.uint16)


def test_random_float32_values_round_to_bfloat16_as_ml_dtypes_converts_them():
    rng = np.random.default_rng(8)
    values = (rng.standard_normal(3000) * 10.0 ** rng.integers(-30, 30, 3000)).astype(np.float32)
    for v in values:
        got = oracle.round_to(float(v), "bfloat16").view(np.uint16)
        assert got == np.asarray(v).astype(ml_dtypes.bfloat16).view(np.uint16)


def test_round_to_reads_decimal_strings_exactly():
    # 0.1 as a decimal is not the float 0.1; both round to the same float32 here.
    assert oracle.round_to("0.1", "float32") == np.float32(0.1)
    assert oracle.round_to("1e-400", "float64") == 0.0
    assert np.isinf(oracle.round_to("inf", "float16"))
    assert np.isnan(oracle.round_to("nan", "bfloat16").astype(np.float32))


def test_round_to_rejects_an_unknown_dtype():
    with pytest.raises(oracle.UnknownFormatError, match="float8"):
        oracle.round_to(1, "float8")


def test_ulp_distance_counts_steps_across_zero_and_to_infinity():
    f32 = np.float32
    a = np.array([1.0, -0.0, f32(1.4e-45), np.inf, np.nan, np.nan], dtype=np.float32)
    b = np.array(
        [np.nextafter(f32(1), f32(2)), 0.0, -f32(1.4e-45), f32(3.4028235e38), 1.0, np.nan],
        dtype=np.float32,
    )
    assert ulp_distance(a, b).tolist() == [1.0, 0.0, 2.0, 1.0, np.inf, 0.0]


def test_ulp_distance_in_float64_is_exact_for_far_apart_values():
    a = np.array([np.finfo(np.float64).max], dtype=np.float64)
    b = -a
    assert ulp_distance(a, b)[0] == 2.0 * 0x7FEFFFFFFFFFFFFF


def test_from_bits_builds_bfloat16_without_conversion():
    fmt = FORMATS["bfloat16"]
    assert from_bits(0x3F80, fmt).astype(np.float32) == 1.0
    assert from_bits(0x3F80, fmt).dtype == np.dtype(ml_dtypes.bfloat16)
