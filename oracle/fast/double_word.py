"""Error-free transformations of float64 arrays: TwoSum, Fast2Sum, Veltkamp's split, Dekker's
product (no FMA: NumPy has none, and oracle.fast.assumptions checks that none is contracted).

With ``RN`` round to nearest even and no overflow (docs/certification.md, section 10.1):

* ``two_sum(a, b) = (s, e)``: ``s = RN(a + b)`` and ``s + e = a + b`` exactly, for any floats
  (Knuth, TAOCP vol. 2, 4.2.2, Theorem B; Moller 1965). Underflow does not break it: an addition
  whose result is subnormal is exact.
* ``fast_two_sum(a, b) = (s, e)``: the same when ``a = 0`` or ``|a| >= |b|`` (Dekker 1971).
* ``split(a) = (ah, al)``: ``a = ah + al`` with ``ah`` on 26 and ``al`` on 26 significant bits
  (Veltkamp's splitting, constant ``2^27 + 1``), for ``|a| <= 2^995`` (``(2^27 + 1) a`` finite).
* ``two_prod(a, b) = (p, e)``: ``p = RN(a b)`` and ``p + e = a b`` exactly (Dekker 1971) when
  ``|a|, |b| <= 2^995``, ``|p| <= 2^1020`` and ``e_a + e_b >= -970`` (``e_x`` the exponent of
  ``x``: every partial product is then a multiple of ``2^-1074``); ``|p| >= 2^-968`` implies the
  last condition. Callers check these conditions (oracle.fast.balls).
"""

from __future__ import annotations

import numpy as np

_SPLITTER = 2.0**27 + 1.0


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, e) with s = RN(a + b), s + e = a + b exactly (any finite floats)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def fast_two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, e) with s = RN(a + b), s + e = a + b exactly, where a == 0 or |a| >= |b|."""
    s = a + b
    e = b - (s - a)
    return s, e


def split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ah, al) with a = ah + al, each on at most 26 bits (|a| <= 2^995)."""
    g = _SPLITTER * a
    ah = g - (g - a)
    return ah, a - ah


def two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, e) with p = RN(a b), p + e = a b exactly under the conditions in the module doc."""
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e
