"""The gate on sweeps: a published accuracy table is the baseline of the next sweep.

A cell is matched by (backend, function, dtype, quantity, target, weight, pos_weight). The gate
fails (exit 1) when, against the baseline,

* a cell's largest ULP error grew, or it has more results beyond the tolerance, more NaN
  mismatches, or (exhaustive sweeps) more results that are not correctly rounded;
* a cell the baseline swept fine now fails (unsupported, raised, crashed, timeout, mismatch);
* a cell the baseline does not have breaks the tolerance.

A cell swept otherwise than in the baseline (exhaustive against sampled, or another number of
inputs) cannot be compared and fails too: gate a sweep on a table of the same sweep. A cell that
got better is reported ("improved"), never a failure; a version differing from the baseline's is
a warning, and so is a machine fingerprint differing from the baseline's (conformance/hunt/
machine.py: NumPy and the frameworks dispatch to other SIMD kernels on another CPU, so a count
of results that are not correctly rounded can move with the machine alone). Bad baseline files raise ``SweepBaselineError`` (exit 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report.accuracy import FORMAT

_WORSE_IF_MORE = ("max_ulp", "beyond_tolerance", "nan_mismatch")


class SweepBaselineError(ValueError):
    """An accuracy table used as a baseline is unreadable or malformed."""


def cell_key(cell: dict[str, Any]) -> tuple:
    return (cell["backend"], cell["function"], cell["dtype"], cell["quantity"],
            cell["target"], cell.get("weight"), cell.get("pos_weight"))  # fmt: skip


def load_sweep_baseline(path: Path) -> dict[tuple, dict[str, Any]]:
    """The cells of an accuracy table (JSON written by ``sweep --report-dir``), by key."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise SweepBaselineError(f"cannot read sweep baseline {path}: {exc}") from None
    except ValueError as exc:
        raise SweepBaselineError(f"invalid sweep baseline {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SweepBaselineError(f"invalid sweep baseline {path}: format is not {FORMAT!r}")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise SweepBaselineError(f"invalid sweep baseline {path}: 'cells' must be a list")
    problems = [p for i, c in enumerate(cells) for p in _cell_problems(c, i)]
    if problems:
        raise SweepBaselineError(f"invalid sweep baseline {path}:\n  " + "\n  ".join(problems))
    return {cell_key(c): c for c in cells}


_KEYS = {"backend": str, "function": str, "dtype": str, "quantity": str, "status": str}
_NUMBERS = ("count", "max_ulp", "beyond_tolerance", "nan_mismatch", "not_correctly_rounded")


def _cell_problems(cell: Any, i: int) -> list[str]:
    where = f"cells[{i}]"
    if not isinstance(cell, dict):
        return [f"{where}: must be an object"]
    problems = [f"{where}.{k}: must be a string" for k, t in _KEYS.items()
                if not isinstance(cell.get(k), t)]  # fmt: skip
    if not _is_number(cell.get("target")):
        problems.append(f"{where}.target: must be a number")
    for k in ("weight", "pos_weight"):
        if cell.get(k) is not None and not _is_number(cell[k]):
            problems.append(f"{where}.{k}: must be a number or null")
    if not isinstance(cell.get("exhaustive"), bool):
        problems.append(f"{where}.exhaustive: must be true or false")
    if cell.get("status") == "ok":
        problems += [f"{where}.{k}: must be a number" for k in _NUMBERS
                     if not _is_number(cell.get(k))]  # fmt: skip
    return problems


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass
class SweepGate:
    failures: list[str] = field(default_factory=list)
    improved: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def render(self) -> str:
        head = ("Sweep gate: PASS" if not self.failures
                else f"Sweep gate: FAIL ({len(self.failures)} cell(s) worse)")  # fmt: skip
        lines = [head, *[f"warning: {w}" for w in self.warnings]]
        lines += [f"  WORSE {f}" for f in self.failures]
        lines += [f"  improved {i}" for i in self.improved]
        return "\n".join(lines) + "\n"


def _name(cell: dict[str, Any]) -> str:
    return (f"{cell['backend']} {cell['function']} {cell['dtype']} {cell['quantity']} "
            f"y={cell['target']:g}")  # fmt: skip


def gate_sweep(cells: list[dict[str, Any]], baseline: dict[tuple, dict[str, Any]]) -> SweepGate:
    """Compare a sweep's cells with the baseline's (module docstring)."""
    result = SweepGate()
    for cell in cells:
        old = baseline.get(cell_key(cell))
        name = _name(cell)
        if old is None:
            if cell["status"] != "ok" or cell.get("beyond_tolerance", 0):
                what = cell["status"] if cell["status"] != "ok" else (
                    f"{cell['beyond_tolerance']} beyond tolerance")  # fmt: skip
                result.failures.append(f"{name}: not in the baseline, {what}")
            continue
        if old.get("version") != cell.get("version"):
            result.warnings.append(f"{name}: version {cell.get('version')!r}, baseline "
                                   f"{old.get('version')!r}")  # fmt: skip
        if old.get("machines") and cell.get("machines") and old["machines"] != cell["machines"]:
            result.warnings.append(  # SIMD dispatch differs by CPU: so may the last bits
                f"{name}: computed on {'; '.join(cell['machines'])}, baseline on "
                f"{'; '.join(old['machines'])} (conformance/hunt/machine.py)"
            )
        if cell["status"] != "ok":
            if old["status"] == "ok":
                result.failures.append(f"{name}: {cell['status']} (baseline: ok)")
            continue
        if old["status"] != "ok":
            result.improved.append(f"{name}: ok (baseline: {old['status']})")
            continue
        if (cell["exhaustive"], cell["count"]) != (old["exhaustive"], old["count"]):
            how = {True: "exhaustive", False: "sampled"}
            result.failures.append(
                f"{name}: not comparable with the baseline ({how[cell['exhaustive']]}, "
                f"{cell['count']} inputs; baseline {how[old['exhaustive']]}, {old['count']})"
            )
            continue
        keys = _WORSE_IF_MORE + (("not_correctly_rounded",) if cell["exhaustive"] else ())
        worse = [f"{k} {old[k]:g} -> {cell[k]:g}" for k in keys if cell[k] > old[k]]
        better = [f"{k} {old[k]:g} -> {cell[k]:g}" for k in keys if cell[k] < old[k]]
        if worse:
            result.failures.append(f"{name}: " + ", ".join(worse))
        elif better:
            result.improved.append(f"{name}: " + ", ".join(better))
    return result
