"""The one table of tolerances: (function, dtype, backend kind, value | gradient) -> max ULP.

* ``numpy`` (the project's own kernel) is held to its design target: 1 ULP in float32, float16
  and bfloat16, 2 ULP in float64, for values and gradients alike.
* Every other backend (frameworks, plugins) gets 4 ULP in float64 and float32 and 2 ULP in
  float16 and bfloat16: a composition of a few correctly rounded (or 1-ULP) primitives stays
  inside these, while a cancellation or an underflow shows up as thousands of ULP.

Reductions are also judged by a condition-aware bound. With ``S`` the exact sum (or mean) of the
terms ``t_i``, ``u = 2**-p`` the unit roundoff of the dtype and ``N`` the number of terms, a result
``S_hat`` conforms when

    |S_hat - S| <= (k + ceil(log2 N) + 1) * u * sum |t_i|     (mean: everything divided by N)

where ``k`` is the element tolerance in ULP (the same bound, per element, judges a gradient
with respect to a broadcast weight or pos_weight, which sums the contributions of the elements
it was broadcast over): that is the error bound of a pairwise summation of
terms each within ``k`` ULP, so a correct pairwise (or better) sum is never a false alarm while a
naive float16 accumulation of many terms, or a wrong term, is caught.

The same bound with ``N = 2`` judges an element quantity whose two terms cancel inherently
(oracle.cancellation: the logits loss's input and target gradients, where
``sum |T_j| >= 2 |q|``): rounding the transcendental term costs ``u |T_j|`` in any precision, so
a careful float64 implementation cannot meet ``k`` ULP there, while an avoidable cancellation
(a formula whose terms are larger than the best decomposition's) is still caught.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from oracle.formats import format_of

_NUMPY = {"float64": 2, "float32": 1, "float16": 1, "bfloat16": 1}
_FRAMEWORK = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class Tolerance:
    max_ulp: float
    element_ulp: float  # k in the condition-aware bound

    def condition_bound(self, n_terms: int) -> float:
        """The allowed |S_hat - S| / (u * sum|t_i|) for a reduction over ``n_terms`` terms."""
        return self.element_ulp + math.ceil(math.log2(max(n_terms, 2))) + 1


def tolerance(function: str, dtype: str, backend: str, quantity: str) -> Tolerance:
    """The tolerance for one (function, dtype, backend, value | gradient) cell of the table."""
    del function, quantity  # one column for both functions and for values and gradients alike
    table = _NUMPY if backend == "numpy" else _FRAMEWORK
    ulp = table[dtype]
    return Tolerance(max_ulp=ulp, element_ulp=ulp)


def unit_roundoff(dtype: str) -> float:
    return 2.0 ** -format_of(dtype).precision


def tolerance_table() -> list[dict[str, object]]:
    """The table as rows, for the README and the reports."""
    rows = []
    for backend, table in (("numpy", _NUMPY), ("other backends", _FRAMEWORK)):
        for dtype, ulp in table.items():
            rows.append({"backend": backend, "dtype": dtype, "max_ulp": ulp})
    return rows
