"""The sweeps' worst inputs become hunt cases (purpose ``sweep``)."""

import json
from pathlib import Path

import numpy as np

from conformance.hunt import sweep_worst as SW

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "reports" / "accuracy" / "accuracy-16bit.json"
LOGITS = "binary_cross_entropy_with_logits"


def _cell(backend="torch", status="ok", worst=None, relative=None, **kw):
    cell = {"backend": backend, "function": LOGITS, "dtype": "bfloat16", "quantity": "value",
            "target": 0.0, "weight": None, "pos_weight": None, "status": status,
            "worst_input": worst, "max_relative_error": relative}  # fmt: skip
    cell.update(kw)
    return cell


def _point(value, ulp):
    return {"input": "0x0", "input_value": repr(value), "ulp": ulp, "got": "0.0", "expected": "1.0"}


def test_both_worst_points_of_a_cell_are_kept():
    inputs = SW.worst_inputs([_cell(worst=_point(-4.15625, 15487.0), relative=_point(-89.0, 3.0))])
    assert sorted(e["input"] for e in inputs) == [-89.0, -4.15625]


def test_an_input_found_by_two_cells_is_listed_once_with_the_first_finder():
    cells = [_cell(worst=_point(2.0, 5.0)), _cell(backend="paddle", worst=_point(2.0, 9.0))]
    (entry,) = SW.worst_inputs(cells)
    assert entry["found_by"].startswith("torch bfloat16 value: 5 ULP")


def test_correctly_rounded_and_failed_cells_give_no_input():
    cells = [_cell(worst=_point(2.0, 0.0)), _cell(status="crashed", worst=_point(3.0, 7.0))]
    assert SW.worst_inputs(cells) == []


def test_the_packaged_inputs_are_those_of_the_published_table():
    packaged = json.loads((ROOT / "conformance/hunt/data/sweep_worst.json").read_text())
    table = json.loads(TABLE.read_text())
    assert packaged["source"] == TABLE.name
    assert packaged["inputs"] == SW.worst_inputs(table["cells"])


def test_a_case_is_one_element_of_the_found_input_and_target():
    case = next(iter(SW.sweep_cases(LOGITS, "float32")))
    assert case.input.shape == (1,) and case.reduction == "none" and case.dtype == "float32"


def test_a_dtype_that_does_not_hold_the_input_exactly_gets_no_case():
    assert SW._exact(1e-30, "float16") is None  # below float16's subnormals
    assert SW._exact(2.0**-126, "float16") is None
    assert SW._exact(2.0**-126, "bfloat16") is not None
    assert SW._exact(1.0 + 2.0**-10, "bfloat16") is None  # finer than bfloat16's precision
    assert SW._exact(1.0 + 2.0**-10, "float16") is not None


def test_every_packaged_input_reaches_float64_and_float32():
    for function in ("binary_cross_entropy", LOGITS):
        entries = [e for e in SW._entries() if e["function"] == function]
        for dtype in ("float64", "float32"):
            cases = list(SW.sweep_cases(function, dtype))
            assert [float(c.input[0]) for c in cases] == [e["input"] for e in entries]
            assert all(np.asarray(c.target).dtype == np.dtype(dtype) for c in cases)


def test_a_table_that_is_not_one_exits_2(tmp_path, capsys):
    bad = tmp_path / "t.json"
    bad.write_text("{}")
    assert SW.main([str(bad)]) == 2
    assert "not an accuracy table" in capsys.readouterr().err


class _WrongAtOneWorstInput:
    """The numpy kernel, except the with-logits loss at x = -4.15625 (the input where torch's
    bfloat16 loss is 0 instead of 0.01556, a worst input of the published sweep): 0 there."""

    def binary_cross_entropy_with_logits(self, input, target, weight=None, pos_weight=None,
                                         reduction="mean"):  # fmt: skip
        from conformance.backends import numpy_kernel as K

        out = np.asarray(K.binary_cross_entropy_with_logits(input, target, weight, pos_weight,
                                                            reduction=reduction))  # fmt: skip
        if reduction == "none":
            out = np.where(input == -4.15625, np.zeros_like(out), out)
        return out


def test_the_sweep_purpose_catches_a_bug_at_a_published_worst_input():
    from conformance.backends.plugins import resolve_backend
    from conformance.hunt.audit import audit_backend
    from conformance.hunt.profiles import PROFILES

    backend = resolve_backend(_WrongAtOneWorstInput(), "toy")
    run = audit_backend(
        backend, PROFILES["ci"], functions=(LOGITS,), dtypes=("float32",), purposes=("sweep",)
    )
    assert run.value_comparisons > 0
    assert [d for d in run.divergences if d.verdict == "value_mismatch" and d.quantity == "value"]
