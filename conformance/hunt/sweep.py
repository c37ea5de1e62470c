"""Sweeps: one argument over every input of a format (or stratified samples), the others fixed.

A *plan* fixes the function, the dtype, the target ``y`` (and optionally a weight ``w`` and a
pos_weight ``p``), the quantities (``value``, ``grad_input``, ``grad_target``, ...) and the
backends. Each task (conformance.hunt.sweep_domain: a range of bit patterns, or samples of one
binade) evaluates, elementwise (reduction ``none``, upstream gradient 1), at every input ``x``
of the chunk:

* the oracle's correctly rounded value and gradients, once for all backends;
* every backend, in this process (a sweep worker), on the whole chunk as one call.

Per (backend, quantity) a chunk yields *statistics* (``chunk_stats``) that merge exactly and in
any order (``merge_stats``): the number of inputs, how many results are not the correct rounding
(``not_correctly_rounded``: ULP distance > 0, NaN mismatches included), how many are beyond the
tolerance of conformance.judge.tolerances, NaN and infinity mismatches, the largest ULP distance
on the format's lattice with its worst input (ties: the smallest bit pattern), the largest
relative error (relative to the correctly rounded value, computed in float64; reported, not
judged), a histogram of ULP distances, and the same numbers per binade of the input (sign and
exponent field) for error-against-input plots. Merging is exact, so the result of a sweep does
not depend on how it was split into chunks or on how many workers ran them.

An exhaustive sweep's numbers are exact; a sampled sweep's are lower bounds (``exhaustive``
false).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import oracle
from conformance import __version__
from conformance.backends.protocol import Call
from conformance.hunt.machine import fingerprint
from conformance.hunt.sweep_domain import inputs
from conformance.judge.tolerances import tolerance
from oracle.formats import format_of, ulp_distance

QUANTITIES = ("value", "grad_input", "grad_target", "grad_weight", "grad_pos_weight")
# Histogram buckets of ULP distances: 0, 1, 2, (2, 4], (4, 16], (16, 256], > 256, NaN mismatch.
HISTOGRAM = ("0", "1", "2", "3-4", "5-16", "17-256", ">256", "nan")
_EDGES = np.array([0.5, 1.5, 2.5, 4.5, 16.5, 256.5])


@dataclass(frozen=True)
class SweepPlan:
    """What one sweep evaluates. ``backends`` maps each backend spec to its version (the one
    this sweep was planned with: a worker with another version refuses the task)."""

    function: str
    dtype: str
    target: float
    quantities: tuple[str, ...]
    backends: tuple[tuple[str, str], ...]
    weight: float | None = None
    pos_weight: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["quantities"] = list(self.quantities)
        data["backends"] = [list(b) for b in self.backends]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SweepPlan:
        return cls(
            function=data["function"],
            dtype=data["dtype"],
            target=data["target"],
            quantities=tuple(data["quantities"]),
            backends=tuple((b[0], b[1]) for b in data["backends"]),
            weight=data.get("weight"),
            pos_weight=data.get("pos_weight"),
        )

    def key(self, task: tuple) -> str:
        """The checkpoint name of one task of this plan (changes with any version)."""
        text = json.dumps([__version__, self.to_json(), list(task)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def gradients(self) -> tuple[str, ...]:
        return tuple(q[5:] for q in self.quantities if q.startswith("grad_"))


def in_dtype(value: float, dtype: str) -> float:
    """``value`` correctly rounded into ``dtype`` (as a float: exact)."""
    with np.errstate(over="ignore"):
        return float(np.array(value, dtype=np.float64).astype(format_of(dtype).numpy_dtype))


# ---------------------------------------------------------------- evaluating one task

_LOADED: dict[str, Any] = {}
_LOADING = threading.Lock()
_THREAD = threading.local()  # each thread its own runners: a runner serves one call at a time


def _backend(spec: str, version: str):
    """The backend (loaded once per sweep worker), checked against the planned version."""
    from conformance.backends.plugins import load_backend

    with _LOADING:
        if spec not in _LOADED:
            _LOADED[spec] = load_backend(spec)
        backend = _LOADED[spec]
    if backend.version != version:
        raise RuntimeError(
            f"this worker has {spec} {backend.version}, the sweep was planned with {version}"
        )
    return backend


@dataclass(frozen=True)
class _Described:
    """What the sweep needs of a backend that runs in an isolated worker (isolation.describe):
    this process never imports the framework (a sweep worker would otherwise load torch and
    paddle only to read their versions)."""

    name: str
    version: str
    gradients: frozenset[str]


def _runner(spec: str, timeout_s: float):
    from conformance.backends.isolation import IsolatedRunner

    runners = getattr(_THREAD, "runners", None)
    if runners is None:
        runners = _THREAD.runners = {}
    key = (spec, timeout_s)
    if key not in runners:
        runners[key] = IsolatedRunner(spec, timeout_s)
    return runners[key]


def _isolated_backend(spec: str, version: str, timeout_s: float) -> _Described:
    d = _runner(spec, timeout_s).description
    if d["version"] != version:
        raise RuntimeError(
            f"this worker has {spec} {d['version']}, the sweep was planned with {version}"
        )
    return _Described(d["name"], d["version"], frozenset(d["gradients"]))


def _submit(spec: str, backend, call: Call, timeout_s: float | None):
    """Start ``call``: in a worker process of this sweep worker's thread (kept for the next
    task; a crash or hang is that backend's ``crashed`` / ``timeout``), or here when
    ``timeout_s`` is None; return a function that waits for the Outcome."""
    from conformance.backends.isolation import evaluate_in_process

    if timeout_s is None:
        return lambda: evaluate_in_process(backend, call)
    return _runner(spec, timeout_s).submit(call)


def _arguments(plan: SweepPlan, x: np.ndarray) -> dict[str, np.ndarray | None]:
    dtype = x.dtype

    def full(v: float | None) -> np.ndarray | None:
        return None if v is None else np.full(x.shape, v, dtype=dtype)

    return {
        "input": x,
        "target": full(plan.target),
        "weight": full(plan.weight),
        "pos_weight": full(plan.pos_weight),
    }


def _expected(plan: SweepPlan, args: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    kwargs = {"weight": args["weight"], "reduction": "none"}
    if plan.function == "binary_cross_entropy":
        result = oracle.binary_cross_entropy(args["input"], args["target"], **kwargs)
    else:
        result = oracle.binary_cross_entropy_with_logits(
            args["input"], args["target"], pos_weight=args["pos_weight"], **kwargs
        )
    out = {}
    for q in plan.quantities:
        out[q] = result.rounded(plan.dtype) if q == "value" else result.gradient(q[5:], plan.dtype)
    return out


def run_task(
    plan_data: dict[str, Any], task: tuple, timeout_s: float | None = None
) -> dict[str, Any]:
    """Evaluate one task of a plan (JSON in, JSON out: any executor can ship it). Each backend
    runs in its own worker process with ``timeout_s`` seconds per call, or in this process
    when ``timeout_s`` is None; they compute while the oracle does."""
    plan = SweepPlan.from_json(plan_data)
    x = inputs(tuple(task), plan.function, plan.dtype)
    args = _arguments(plan, x)
    pending = {}
    outcomes = {}
    try:
        for spec, version in plan.backends:
            if timeout_s is None:
                backend = _backend(spec, version)
            else:
                backend = _isolated_backend(spec, version, timeout_s)
            offered = tuple(g for g in plan.gradients() if g in backend.gradients)
            call = Call(
                plan.function, plan.dtype, args["input"], args["target"], args["weight"],
                args["pos_weight"], reduction="none", grad_wrt=offered,
            )  # fmt: skip
            pending[spec] = (backend, _submit(spec, backend, call, timeout_s))
        expected = _expected(plan, args)
    finally:  # every call sent is collected, even when the oracle raises
        for spec, (_, wait) in pending.items():
            outcomes[spec] = wait()
    cells: dict[str, Any] = {}
    binades = binades_of(x)
    for spec, (backend, _) in pending.items():
        outcome = outcomes[spec]
        if outcome.status != "ok":
            cells[spec] = {
                "status": outcome.status, "error": (outcome.error or "")[:500],
                "machine": fingerprint(),
            }  # fmt: skip
            continue
        stats = {}
        for q in plan.quantities:
            if q != "value" and q[5:] not in backend.gradients:
                stats[q] = {"count": 0, "unsupported": f"{spec} offers no gradient wrt {q[5:]}"}
                continue
            got = outcome.value if q == "value" else outcome.gradients.get(q[5:])
            tol = tolerance(plan.function, plan.dtype, backend.name, q).max_ulp
            stats[q] = chunk_stats(x, expected[q], got, tol, binades)
        cells[spec] = {
            "status": "ok", "quantities": stats, "tolerance_name": backend.name,
            "machine": fingerprint(),
        }  # fmt: skip
    return {"task": list(task), "count": int(x.size), "cells": cells}


# ---------------------------------------------------------------- statistics of one chunk


def _hex(bits: int, fmt) -> str:
    return f"0x{bits:0{fmt.width // 4}x}"


def _point(x_bits: np.ndarray, x: np.ndarray, e: np.ndarray, g: np.ndarray, i: int, fmt,
           ulp: float) -> dict[str, Any]:  # fmt: skip
    return {
        "input": _hex(int(x_bits[i]), fmt),
        "input_value": repr(float(x[i])),
        "expected": repr(float(e[i])),
        "got": repr(float(g[i])),
        "ulp": ulp if math.isfinite(ulp) else None,
    }


def chunk_stats(x: np.ndarray, expected: np.ndarray, got: Any, tol: float,
                binades: Binades | None = None) -> dict[str, Any]:  # fmt: skip
    """The statistics of one quantity over one chunk (module docstring); ``got`` of another
    shape or dtype is a ``shape_mismatch`` / ``dtype_mismatch`` for the whole chunk.

    Only the results whose bit patterns differ from the correct rounding are looked at one by
    one: an equal pattern is at ULP distance 0, no NaN or infinity mismatch, relative error 0,
    so it adds only to the counts (nearly every result of a good backend: the statistics cost
    a few passes over the chunk instead of dozens). ``binades`` (``binades_of(x)``) may be
    passed when several quantities share the chunk."""
    fmt = format_of(expected.dtype)
    n = int(x.size)
    got = np.asarray(got) if got is not None else None
    if got is None or got.shape != expected.shape or got.dtype != expected.dtype:
        what = "missing" if got is None else f"{got.dtype}{list(got.shape)}"
        verdict = "dtype_mismatch" if got is not None and got.shape == expected.shape else (
            "shape_mismatch")  # fmt: skip
        return {"count": n, "mismatch": f"{verdict}: got {what}, expected "
                f"{expected.dtype}{list(expected.shape)}"}  # fmt: skip
    if binades is None:
        binades = binades_of(x)
    flat_e = np.ascontiguousarray(expected).reshape(-1)
    flat_g = np.ascontiguousarray(got).reshape(-1)
    differ = np.flatnonzero(flat_e.view(fmt.uint_dtype) != flat_g.view(fmt.uint_dtype))
    e_sub, g_sub = flat_e[differ], flat_g[differ]
    ulps = ulp_distance(e_sub, g_sub)
    e64 = e_sub.astype(np.float64)
    g64 = g_sub.astype(np.float64)
    nan_mismatch = np.isnan(e64) ^ np.isnan(g64)
    # as the judge counts them: beyond the tolerance, an infinity on either side, no NaN
    inf_mismatch = ~nan_mismatch & (ulps > tol) & (np.isinf(e64) | np.isinf(g64))
    finite_ulps = np.where(nan_mismatch, -1.0, ulps)
    flat_x = np.ascontiguousarray(x).reshape(-1)
    x_bits = flat_x.view(fmt.uint_dtype)
    stats: dict[str, Any] = {
        "count": n,
        "not_correctly_rounded": int(np.count_nonzero(ulps > 0)),
        "beyond_tolerance": int(np.count_nonzero(ulps > tol)),
        "nan_mismatch": int(np.count_nonzero(nan_mismatch)),
        "inf_mismatch": int(np.count_nonzero(inf_mismatch)),
        "max_ulp": float(finite_ulps.max()) if differ.size and finite_ulps.max() > 0 else 0.0,
        "worst": None,
        "max_relative_error": None,
        "histogram": _histogram(ulps, nan_mismatch, n - differ.size),
        "by_binade": _by_binade(binades, x_bits[differ], ulps, nan_mismatch),
    }
    if differ.size:
        if nan_mismatch.any():
            k = int(np.flatnonzero(nan_mismatch)[0])
        else:
            k = int(np.argmax(finite_ulps))  # the first (smallest bit pattern) of the largest
        if ulps[k] > 0:
            i = int(differ[k])
            stats["worst"] = _point(x_bits, flat_x, flat_e, flat_g, i, fmt, float(ulps[k]))
        with np.errstate(all="ignore"):
            rel = np.abs(g64 - e64) / np.abs(e64)
        rel = np.where(np.isfinite(rel) & (e64 != 0), rel, -1.0)
        k = int(np.argmax(rel))
        if rel[k] > 0:
            i = int(differ[k])
            stats["max_relative_error"] = {
                "value": float(rel[k]),
                **_point(x_bits, flat_x, flat_e, flat_g, i, fmt, float(ulps[k])),
            }
    return stats


def _histogram(ulps: np.ndarray, nan_mismatch: np.ndarray, equal: int) -> list[int]:
    """ULP-distance buckets of the differing results, plus ``equal`` results at distance 0."""
    finite = ulps[~nan_mismatch]
    counts = np.bincount(np.searchsorted(_EDGES, finite), minlength=len(_EDGES) + 1)
    counts[0] += equal
    return [int(c) for c in counts] + [int(np.count_nonzero(nan_mismatch))]


@dataclass(frozen=True)
class Binades:
    """The input binades of a chunk, in ascending order of their keys (an input's bit pattern
    shifted right by ``shift``: its sign and exponent field): their names
    ``"<sign>:<exponent field>"`` and how many inputs each holds."""

    keys: np.ndarray
    names: tuple[str, ...]
    counts: tuple[int, ...]
    shift: int

    def index(self, bits: np.ndarray) -> np.ndarray:
        """The binade number (an index into ``names``) of inputs with these bit patterns."""
        return np.searchsorted(self.keys, bits >> bits.dtype.type(self.shift))


def binades_of(x: np.ndarray) -> Binades:
    """The binades of ``x``. A task's inputs come in ascending bit patterns (or from one binade),
    so the binades are runs, found in one pass without sorting; other inputs are sorted once."""
    fmt = format_of(x.dtype)
    raw = np.ascontiguousarray(x).reshape(-1).view(fmt.uint_dtype)
    shift = fmt.precision - 1
    binade = raw >> raw.dtype.type(shift)  # sign and exponent field
    if binade.size and np.all(binade[1:] >= binade[:-1]):
        starts = np.concatenate(([0], np.flatnonzero(binade[1:] != binade[:-1]) + 1))
        keys, counts = binade[starts], np.diff(np.append(starts, binade.size))
    else:
        keys, counts = np.unique(binade, return_counts=True)
    sign_shift = fmt.width - fmt.precision
    names = tuple(f"{k >> sign_shift}:{k & ((1 << sign_shift) - 1)}" for k in keys.tolist())
    return Binades(keys, names, tuple(int(c) for c in counts), shift)


def _by_binade(binades: Binades, differ_bits: np.ndarray, ulps: np.ndarray,
               nan_mismatch: np.ndarray) -> dict[str, list]:  # fmt: skip
    """Per input binade: [count, not correctly rounded, max ULP (NaN mismatches excluded),
    NaN mismatches]; ``differ_bits`` are the input bit patterns of the results that differ,
    with their ``ulps`` and ``nan_mismatch``."""
    m = len(binades.names)
    which = binades.index(differ_bits)
    wrong = np.bincount(which, weights=(ulps > 0), minlength=m)
    nans = np.bincount(which, weights=nan_mismatch, minlength=m)
    worst = np.zeros(m)
    np.maximum.at(worst, which, np.where(nan_mismatch, 0.0, ulps))
    return {
        name: [binades.counts[k], int(wrong[k]), float(worst[k]), int(nans[k])]
        for k, name in enumerate(binades.names)
    }


# ---------------------------------------------------------------- merging


def _better_point(a: dict | None, b: dict | None, key: str) -> dict | None:
    """The larger point by ``key`` (None counts as infinity for ``ulp``); ties: the smaller
    input bit pattern."""
    if a is None or b is None:
        return a if b is None else b

    def score(p: dict) -> float:
        v = p.get(key)
        return math.inf if v is None else v

    sa, sb = score(a), score(b)
    if sa != sb:
        return a if sa > sb else b
    return a if int(a["input"], 16) <= int(b["input"], 16) else b


def merge_stats(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The statistics of two disjoint sets of inputs (exact; commutative and associative)."""
    for failure in ("unsupported", "mismatch"):
        if failure in a or failure in b:
            message = min(x[failure] for x in (a, b) if failure in x)  # either order, one text
            return {"count": a["count"] + b["count"], failure: message}
    out = {k: a[k] + b[k] for k in ("count", "not_correctly_rounded", "beyond_tolerance",
                                     "nan_mismatch", "inf_mismatch")}  # fmt: skip
    out["max_ulp"] = max(a["max_ulp"], b["max_ulp"])
    out["worst"] = _better_point(a["worst"], b["worst"], "ulp")
    out["max_relative_error"] = _better_point(
        a["max_relative_error"], b["max_relative_error"], "value"
    )
    out["histogram"] = [i + j for i, j in zip(a["histogram"], b["histogram"])]
    binades = dict(a["by_binade"])
    for name, row in b["by_binade"].items():
        if name in binades:
            r = binades[name]
            binades[name] = [r[0] + row[0], r[1] + row[1], max(r[2], row[2]), r[3] + row[3]]
        else:
            binades[name] = row
    out["by_binade"] = dict(sorted(binades.items(), key=_binade_order))
    return out


def _binade_order(item: tuple[str, Any]) -> tuple[int, int]:
    sign, exponent = item[0].split(":")
    return int(sign), int(exponent)


# ---------------------------------------------------------------- a cell's result


@dataclass
class CellResult:
    """One (backend, function, dtype, target, weight, pos_weight, quantity) of a sweep."""

    backend: str
    version: str
    function: str
    dtype: str
    target: float
    weight: float | None
    pos_weight: float | None
    quantity: str
    exhaustive: bool
    tolerance_ulp: float
    status: str = "ok"  # ok | unsupported | raised | crashed | timeout | mismatch
    error: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    machines: list[str] = field(default_factory=list)  # conformance.hunt.machine fingerprints

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        data: dict[str, Any] = {
            "backend": self.backend,
            "version": self.version,
            "function": self.function,
            "dtype": self.dtype,
            "target": self.target,
            "weight": self.weight,
            "pos_weight": self.pos_weight,
            "quantity": self.quantity,
            "status": self.status,
            "exhaustive": self.exhaustive,
            "tolerance_ulp": self.tolerance_ulp,
            "count": s.get("count", 0),
        }
        if self.machines:
            data["machines"] = self.machines
        if self.status != "ok":
            data["error"] = self.error
            return data
        data.update(
            max_ulp=s["max_ulp"],
            worst_input=s["worst"],
            not_correctly_rounded=s["not_correctly_rounded"],
            beyond_tolerance=s["beyond_tolerance"],
            nan_mismatch=s["nan_mismatch"],
            inf_mismatch=s["inf_mismatch"],
            max_relative_error=s["max_relative_error"],
            histogram=dict(zip(HISTOGRAM, s["histogram"])),
            by_binade=s["by_binade"],
        )
        return data


def cells_of(plan: SweepPlan, results: list[dict[str, Any]], exhaustive: bool) -> list[CellResult]:
    """Merge the task results of one plan (in task order) into one CellResult per (backend,
    quantity). A backend that failed on any task gets the status of its first failure."""
    cells = []
    for spec, version in plan.backends:
        for q in plan.quantities:
            cell = CellResult(
                spec, version, plan.function, plan.dtype, plan.target, plan.weight,
                plan.pos_weight, q, exhaustive,
                tolerance(plan.function, plan.dtype, spec, q).max_ulp,
            )  # fmt: skip
            merged: dict[str, Any] | None = None
            machines = {
                r["cells"][spec]["machine"] for r in results if "machine" in r["cells"][spec]
            }
            cell.machines = sorted(machines)
            for r in results:
                part = r["cells"][spec]
                if "tolerance_name" in part:  # the judge's table is keyed by backend name
                    name = part["tolerance_name"]
                    cell.tolerance_ulp = tolerance(plan.function, plan.dtype, name, q).max_ulp
                if part["status"] != "ok":
                    cell.status, cell.error = part["status"], part.get("error", "")
                    break
                stats = part["quantities"][q]
                merged = stats if merged is None else merge_stats(merged, stats)
            for failure in ("unsupported", "mismatch"):
                if cell.status == "ok" and merged is not None and failure in merged:
                    cell.status, cell.error = failure, merged[failure]
            cell.stats = merged or {"count": 0}
            if cell.status == "ok" and merged is None:
                cell.stats = chunk_stats(
                    np.array([], dtype=format_of(plan.dtype).numpy_dtype),
                    np.array([], dtype=format_of(plan.dtype).numpy_dtype),
                    np.array([], dtype=format_of(plan.dtype).numpy_dtype), cell.tolerance_ulp,
                )  # fmt: skip
            cells.append(cell)
    return cells
