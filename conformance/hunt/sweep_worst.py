"""The worst inputs of the published sweeps, as hunt cases (purpose ``sweep``).

An exhaustive sweep (conformance.hunt.sweep) finds, for each cell (backend, function, dtype,
quantity, target, weight, pos_weight), the input with the largest ULP error and the one with the
largest relative error. Those inputs are where some implementation breaks, so the hunt tries each
of them against every backend: a one-element case (reduction ``none``, upstream gradient 1) with
the cell's target, weight and pos_weight, in every dtype that holds all four values exactly (a
float16 or bfloat16 value is a float32 and a float64; a bfloat16 value is a float16 only inside
float16's range and precision, and the other way round).

The inputs live in ``conformance/hunt/data/sweep_worst.json``, made from a published accuracy
table by::

    python -m conformance.hunt.sweep_worst reports/accuracy/accuracy-16bit.json

Each entry says which sweep found it (backend, dtype, quantity, ULP error), so a class the hunt
files from it can be traced back to the accuracy table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from conformance.cases import Case
from oracle.formats import format_of

FORMAT = "bce-conformance-sweep-worst/1"
_POINTS = ("worst_input", "max_relative_error")


def worst_inputs(cells: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The distinct inputs (function, input, target, weight, pos_weight) at the worst ULP and
    the worst relative error of every swept cell that has them, each with the first cell (in
    table order) that found it; sorted, so the same table gives the same list."""
    found: dict[tuple, dict[str, Any]] = {}
    for cell in cells:
        if cell.get("status") != "ok":
            continue
        for point_name in _POINTS:
            point = cell.get(point_name)
            if not point or not point.get("ulp"):
                continue
            entry = {
                "function": cell["function"],
                "input": float(point["input_value"]),
                "target": float(cell["target"]),
                "weight": cell.get("weight"),
                "pos_weight": cell.get("pos_weight"),
            }
            key = tuple(entry.values())
            if key not in found:
                entry["found_by"] = (
                    f"{cell['backend']} {cell['dtype']} {cell['quantity']}: "
                    f"{point['ulp']:.0f} ULP (got {point['got']}, due {point['expected']})"
                )
                found[key] = entry
    return [found[k] for k in sorted(found, key=repr)]


@lru_cache(maxsize=1)
def _entries() -> tuple[dict[str, Any], ...]:
    text = resources.files("conformance.hunt.data").joinpath("sweep_worst.json").read_text()
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"sweep_worst.json: format {data.get('format')!r}, expected {FORMAT!r}")
    return tuple(data["inputs"])


def _exact(value: float | None, dtype: str) -> np.ndarray | None:
    """``value`` as a one-element array of ``dtype``, or None when the dtype does not hold it."""
    if value is None:
        return None
    with np.errstate(over="ignore"):
        a = np.array([value], dtype=np.float64).astype(format_of(dtype).numpy_dtype)
    return a if float(a[0]) == value else None


def sweep_cases(function: str, dtype: str) -> Iterator[Case]:
    """One case per published worst input of ``function`` that ``dtype`` holds exactly."""
    for entry in _entries():
        if entry["function"] != function:
            continue
        arrays = {k: _exact(entry[k], dtype) for k in ("input", "target", "weight", "pos_weight")}
        if any(arrays[k] is None for k in ("input", "target")) or any(
            arrays[k] is None and entry[k] is not None for k in ("weight", "pos_weight")
        ):
            continue
        yield Case(
            function,
            dtype,
            arrays["input"],
            arrays["target"],
            weight=arrays["weight"],
            pos_weight=arrays["pos_weight"],
            reduction="none",
        )


def main(argv: list[str] | None = None) -> int:
    """Write conformance/hunt/data/sweep_worst.json from a published accuracy table."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m conformance.hunt.sweep_worst ACCURACY_TABLE.json", file=sys.stderr)
        return 2
    try:
        table = json.loads(Path(args[0]).read_text())
        cells = table["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args[0]}: not an accuracy table ({exc})", file=sys.stderr)
        return 2
    inputs = worst_inputs(cells)
    out = Path(__file__).parent / "data" / "sweep_worst.json"
    text = json.dumps({"format": FORMAT, "source": Path(args[0]).name, "inputs": inputs}, indent=1)
    tmp = out.with_suffix(".tmp")
    try:
        tmp.write_text(text + "\n")
        tmp.replace(out)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(inputs)} inputs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
