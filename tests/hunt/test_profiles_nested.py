"""A bigger profile hunts everything the ci profile hunts, at the same seed.

Every purpose draws its cases from one stream per (seed, function, dtype, purpose)
(conformance.hunt.purposes.purpose_rng), and the budget only says how far to read it; large
cases are listed size by size, ci's sizes first. So the ci cases are the first cases of dev and
deep (at any ``spread`` scale), and each case is judged on its own: a class the ci profile
reports, dev and deep report too. This is what lets the README carry the ci mutation score over
to dev and deep (a mutant caught by ci is caught by them, as long as the reference stays clean).
"""

from __future__ import annotations

import itertools

import pytest

from conformance.hunt.audit import purpose_cases
from conformance.hunt.profiles import PROFILES
from conformance.hunt.purposes import PURPOSES

FUNCTIONS = ("binary_cross_entropy", "binary_cross_entropy_with_logits")
DTYPES = ("float64", "float32", "float16", "bfloat16")


def _identity(case) -> bytes | tuple:
    return case.recipe if case.recipe is not None else case.key()


@pytest.mark.parametrize("bigger,scale", [("dev", 1), ("deep", 1), ("deep", 2)])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_ci_cases_are_the_first_cases_of_a_bigger_profile(bigger, scale, function):
    for dtype, purpose in itertools.product(DTYPES, PURPOSES):
        ci = [_identity(c) for c in purpose_cases(PROFILES["ci"], function, dtype, 3, purpose)]
        big = purpose_cases(PROFILES[bigger], function, dtype, 3, purpose, scale)
        head = [_identity(c) for c in itertools.islice(big, len(ci))]
        assert head == ci, (bigger, function, dtype, purpose)


def test_a_different_seed_gives_different_cases():
    """The test above would pass vacuously if the cases did not depend on anything."""
    a = [c.key() for c in purpose_cases(PROFILES["ci"], FUNCTIONS[0], "float32", 3, "value")]
    b = [c.key() for c in purpose_cases(PROFILES["ci"], FUNCTIONS[0], "float32", 4, "value")]
    assert a and set(a).isdisjoint(b)
