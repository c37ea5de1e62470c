"""Cases with one purpose each, drawn deterministically from (seed, function, dtype, purpose).

* ``value``: every element inside the documented domain and finite; 2-24 elements with
  distinct weights and pos_weights; the structures of conformance.hunt.structures visited in
  turn (every reduction, API form, legacy pair and broadcast form); half of the cases carry a
  random upstream gradient. A divergence here is a wrong value or gradient.
* ``edge``: 0-d and empty inputs under every reduction and weight form.
* ``contract``: exactly one violation of the documented contract — one input probability outside
  [0, 1] (binary_cross_entropy: -0.25, 1 + ulp, NaN, ±inf), a target of another shape, a weight
  or pos_weight shape that does not broadcast without growing the output — so an error is due.
* ``special``: in-contract special values in one element of an otherwise ordinary case: logits
  ±inf and NaN, ±0, subnormals, probabilities 0 and 1 and the clamp's edge, weights 0, inf, NaN,
  pos_weight 0 and inf.
* ``out_of_contract``: one target the documentation excludes (outside [0, 1], an exact -100, ±inf,
  NaN); behaviour recorded, not counted unless ``--strict``.
* ``sweep``: the worst inputs of the published exhaustive sweeps, one element each, in every
  dtype that holds them exactly (conformance.hunt.sweep_worst; a fixed list, like ``edge``).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator

import numpy as np

from conformance.cases import Case
from conformance.hunt import values as V
from conformance.hunt.structures import (
    Accepts,
    Structure,
    argument_shape,
    structures,
    value_shape,
)
from oracle.formats import format_of

PURPOSES = (
    "value",
    "edge",
    "layout",
    "mixed",
    "contract",
    "special",
    "out_of_contract",
    "large",
    "sweep",
)
DTYPE_NAMES = ("float64", "float32", "float16", "bfloat16")
LOGITS = "binary_cross_entropy_with_logits"


def purpose_rng(seed: int, function: str, dtype: str, purpose: str) -> np.random.Generator:
    """The generator of one (seed, function, dtype, purpose): independent of the others."""
    tag = zlib.crc32(f"{function}/{dtype}/{purpose}".encode())
    return np.random.default_rng([seed, tag])


def _inputs(rng, function: str, n: int, dtype: str) -> np.ndarray:
    if function == LOGITS:
        return V.logits(rng, n, dtype)
    return V.probabilities(rng, n, dtype)


def _case(
    function: str,
    dtype: str,
    structure: Structure,
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    with_grad_output: bool,
) -> Case:
    shape = y.shape
    w_shape = argument_shape(structure.weight, shape, rng)
    p_shape = argument_shape(structure.pos_weight, shape, rng)
    weight = pos_weight = None
    if w_shape is not None:
        n = int(np.prod(w_shape, dtype=np.int64))
        weight = V.in_dtype(V.weights(rng, n), dtype, w_shape)
    if p_shape is not None:
        n = int(np.prod(p_shape, dtype=np.int64))
        pos_weight = V.in_dtype(V.weights(rng, n) * 2.0, dtype, p_shape)
    reduction = structure.reduction if structure.legacy is None else "mean"
    grad_output = None
    if with_grad_output:
        out_shape = shape if structure.reduction == "none" else ()
        n = int(np.prod(out_shape, dtype=np.int64))
        grad_output = V.in_dtype(V.grad_output(rng, n), dtype, out_shape)
    return Case(
        function=function,
        dtype=dtype,
        input=x,
        target=y,
        weight=weight,
        pos_weight=pos_weight,
        reduction=reduction,
        api="module" if structure.api == "module" else "functional",
        legacy=structure.legacy,
        grad_output=grad_output,
    )


def _plain_call(s: Structure) -> bool:
    return s.api == "functional" and s.legacy is None


def _structures(function: str, accepts: Accepts | None, keep=lambda s: True) -> list[Structure]:
    """The structures of ``function`` that ``keep`` selects and the backend ``accepts`` (the
    weight arguments it declares: a backend without them spends its budget on the others)."""
    return [s for s in structures(function) if keep(s) and (accepts is None or accepts(s))]


def value_cases(
    function: str, dtype: str, seed: int, count: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """``count`` in-domain cases, cycling through every (accepted) structure of ``function``."""
    rng = purpose_rng(seed, function, dtype, "value")
    cells = _structures(function, accepts)
    for i in range(count if cells else 0):
        structure = cells[i % len(cells)]
        # A class or broadcast form needs rank >= 2 to differ from the full shape.
        distinct = {"class", "broadcast"} & {structure.weight, structure.pos_weight}
        shape = value_shape(rng, 24, min_rank=2 if distinct else 1)
        n = int(np.prod(shape))
        x = V.in_dtype(_inputs(rng, function, n, dtype), dtype, shape)
        y = V.targets(rng, n).reshape(shape)
        y = V.in_dtype(V.near_the_probability(rng, function, x, y), dtype, shape)
        yield _case(function, dtype, structure, x, y, rng, with_grad_output=bool(i % 2))


def layout_cases(
    function: str, dtype: str, seed: int, count: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """In-domain cases whose arrays reach the backend non-contiguous (``strided``: stride 2
    along the last axis) or broadcast-expanded (``expanded``: input and target of equal rows,
    passed as a stride-0 expansion of the first row), alternately, cycling the structures."""
    rng = purpose_rng(seed, function, dtype, "layout")
    cells = _structures(function, accepts, lambda s: s.api == "functional")
    for i in range(count if cells else 0):
        structure = cells[(5 * i) % len(cells)]
        layout = ("strided", "expanded")[i % 2]
        shape = value_shape(rng, 24, min_rank=2)
        row = int(np.prod(shape[1:]))
        n = row if layout == "expanded" else int(np.prod(shape))
        x = _inputs(rng, function, n, dtype)
        y = V.targets(rng, n)
        if layout == "expanded":
            x, y = np.tile(x, shape[0]), np.tile(y, shape[0])
        x, y = V.in_dtype(x, dtype, shape), V.in_dtype(y, dtype, shape)
        case = _case(function, dtype, structure, x, y, rng, with_grad_output=bool(i % 3))
        yield case.with_(layout=layout)


def mixed_cases(
    function: str, dtype: str, seed: int, count: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """In-domain cases with one argument (target, weight or pos_weight) in another dtype than
    the input, every (argument, dtype) pair in turn. The documentation is silent; the accepted
    readings are an error, a result in the promoted dtype, or one in the input's dtype
    (docs/semantics.md, "Mixed dtypes")."""
    rng = purpose_rng(seed, function, dtype, "mixed")
    names = ("target", "weight", "pos_weight") if function == LOGITS else ("target", "weight")
    pairs = [(n, d) for n in names for d in DTYPE_NAMES if d != dtype]
    cells = _structures(function, accepts, _plain_call)
    if accepts is not None:  # a weight argument the backend lacks has no dtype to mix
        pairs = [(n, d) for n, d in pairs if n == "target" or accepts.weight_argument(n)]
    for i in range(count if cells else 0):
        name, other = pairs[i % len(pairs)]
        shape = value_shape(rng, 12)
        n = int(np.prod(shape))
        x = V.in_dtype(_inputs(rng, function, n, dtype), dtype, shape)
        y = V.in_dtype(V.targets(rng, n), name == "target" and other or dtype, shape)
        case = _case(function, dtype, cells[(3 * i) % len(cells)], x, y, rng, False)
        if name != "target":
            a = getattr(case, name)
            if a is None:
                a = np.ones(shape)
            values = V.weights(rng, a.size) + 0.25
            case = case.with_(**{name: V.in_dtype(values, other, a.shape)})
        yield case.with_(argument_dtypes={name: other})


def edge_cases(
    function: str, dtype: str, seed: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """0-d and empty inputs under every reduction and weight form (deterministic list)."""
    rng = purpose_rng(seed, function, dtype, "edge")
    for shape in ((), (0,), (3, 0), (0, 4)):
        for structure in _structures(function, accepts):
            plain = structure.api == "functional" and structure.weight == structure.pos_weight
            if len(shape) == 2 and not (plain and structure.weight == "none"):
                continue  # rank-2 empties: every reduction, without weights
            n = int(np.prod(shape, dtype=np.int64))
            x = V.in_dtype(_inputs(rng, function, n, dtype), dtype, shape)
            y = V.in_dtype(V.targets(rng, n), dtype, shape)
            yield _case(function, dtype, structure, x, y, rng, with_grad_output=False)


def _one_element(
    function: str, dtype: str, seed: int, purpose: str, count: int, mutate, accepts=None
):
    """Ordinary in-domain cases in which ``mutate(case_arrays, index, k)`` changes one element
    (or one shape); ``k`` counts the cases so the mutations are visited in turn."""
    rng = purpose_rng(seed, function, dtype, purpose)
    cells = _structures(function, accepts, _plain_call)
    for k in range(count if cells else 0):
        structure = cells[(7 * k) % len(cells)]
        shape = value_shape(rng, 8) if k % 3 else (1,)
        n = int(np.prod(shape))
        x = V.in_dtype(_inputs(rng, function, n, dtype), dtype, shape)
        y = V.in_dtype(V.targets(rng, n), dtype, shape)
        case = _case(function, dtype, structure, x, y, rng, with_grad_output=False)
        index = int(rng.integers(0, n))
        changed = mutate(case, index, k, rng)
        if changed is not None:
            yield changed


def _set(a: np.ndarray, index: int, value: float, dtype: str) -> np.ndarray:
    out = a.copy()
    with np.errstate(over="ignore"):
        out.reshape(-1)[index] = np.asarray(value).astype(format_of(dtype).numpy_dtype)
    return out


def contract_cases(
    function: str, dtype: str, seed: int, count: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """One contract violation per case, the violations visited in turn."""
    fmt = format_of(dtype)
    above_one = 1.0 + 2.0 ** (1 - fmt.precision)
    bad_probabilities = [-0.25, above_one, math.nan, math.inf, -math.inf, 1.5, -(2.0**-20)]
    shape_violations = ["target_shape", "weight_grows", "weight_mismatch"]
    if function == LOGITS:
        shape_violations += ["pos_weight_grows", "pos_weight_mismatch"]
        violations = shape_violations
    else:
        violations = [("input", v) for v in bad_probabilities] + shape_violations
    if accepts is not None:  # no shape violation of an argument the backend does not take
        violations = [
            v for v in violations
            if isinstance(v, tuple) or not v.startswith(("weight", "pos_weight"))
            or accepts.weight_argument(v.split("_grows")[0].split("_mismatch")[0])
        ]  # fmt: skip

    def mutate(case: Case, index: int, k: int, rng) -> Case | None:
        violation = violations[k % len(violations)]
        if isinstance(violation, tuple):
            return case.with_(input=_set(case.input, index, violation[1], dtype))
        shape = case.target.shape
        if violation == "target_shape":
            return case.with_(
                target=case.target.reshape(-1)[:-1]
                if case.target.size > 1
                else np.concatenate([case.target.reshape(-1)] * 2)
            )
        name = "weight" if violation.startswith("weight") else "pos_weight"
        bad = (2,) + shape if violation.endswith("grows") else shape[:-1] + (shape[-1] + 1,)
        n = int(np.prod(bad))
        return case.with_(**{name: V.in_dtype(V.weights(rng, n) + 0.5, dtype, bad)})

    yield from _one_element(function, dtype, seed, "contract", count, mutate, accepts)


def special_cases(
    function: str, dtype: str, seed: int, count: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """One in-contract special value per case, the specials visited in turn."""
    fmt = format_of(dtype)
    tiny = float(fmt.min_subnormal)
    if function == LOGITS:
        specials = [
            ("input", math.inf),
            ("input", -math.inf),
            ("input", math.nan),
            ("input", 0.0),
            ("input", -0.0),
            ("input", tiny),
            ("input", -tiny),
            ("input", float(fmt.max_finite)),
            ("input", -float(fmt.max_finite)),
            ("weight", 0.0),
            ("weight", math.inf),
            ("weight", math.nan),
            ("pos_weight", 0.0),
            ("pos_weight", math.inf),
            ("target", 0.0),
            ("target", 1.0),
            # an infinite weight on a far-tail element whose bracket underflows (w g = inf)
            (
                ("input", float(fmt.max_finite) ** 0.5 if dtype != "float16" else 1000.0),
                ("target", 1.0),
                ("weight", math.inf),
            ),
            (("input", math.inf), ("target", 1.0)),  # a zero coefficient times the limit
            (("input", math.inf), ("weight", 0.0)),
        ]
    else:
        specials = [
            ("input", 0.0),
            ("input", 1.0),
            ("input", -0.0),
            ("input", tiny),
            ("input", 1.0 - 2.0**-fmt.precision),
            ("input", math.exp(-100.0) * 1.01),
            ("input", math.exp(-100.0) * 0.99),
            ("weight", 0.0),
            ("weight", math.inf),
            ("weight", math.nan),
            ("target", 0.0),
            ("target", 1.0),
        ]
    if accepts is not None:  # no special weight for a backend without that argument
        specials = [
            sp for sp in specials
            if all(n in ("input", "target") or accepts.weight_argument(n)
                   for n, _ in (sp if isinstance(sp[0], tuple) else (sp,)))
        ]  # fmt: skip

    def mutate(case: Case, index: int, k: int, rng) -> Case | None:
        special = specials[k % len(specials)]
        changes = special if isinstance(special[0], tuple) else (special,)
        for name, value in changes:  # one element, one or a few of its arguments
            a = getattr(case, name)
            if a is None:  # no weight in this structure: give the case a full one
                a = V.in_dtype(np.ones(case.target.size), dtype, case.target.shape)
            at = index
            if a.shape != case.target.shape:  # a broadcast weight: change the whole argument
                at = int(rng.integers(0, max(a.size, 1))) if a.size else 0
            case = case.with_(**{name: _set(a, at, value, dtype)})
        return case

    return _one_element(function, dtype, seed, "special", count, mutate, accepts)


def out_of_contract_cases(
    function: str, dtype: str, seed: int, count: int, accepts: Accepts | None = None
) -> Iterator[Case]:
    """One excluded target per case: outside [0, 1], an exact -100, ±inf, NaN."""
    excluded = [-100.0, -0.5, 1.5, 2.0, math.inf, -math.inf, math.nan]

    def mutate(case: Case, index: int, k: int, rng) -> Case | None:
        return case.with_(target=_set(case.target, index, excluded[k % len(excluded)], dtype))

    return _one_element(function, dtype, seed, "out_of_contract", count, mutate, accepts)
