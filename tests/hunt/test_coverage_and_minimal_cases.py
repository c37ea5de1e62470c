"""Coverage accounting, single-element minimal cases, and out-of-contract behaviour in `run`."""

import pytest

from conformance.backends.plugins import load_backend
from conformance.cli import main
from conformance.hunt.audit import audit_backend
from conformance.hunt.profiles import PROFILES

CI = PROFILES["ci"]
LOGITS = "binary_cross_entropy_with_logits"
TOYS = "tests.hunt.toy_single_bugs"


def _audit(spec, function=LOGITS, dtype="float32", purposes=("value",)):
    return audit_backend(
        load_backend(spec), CI, functions=(function,), dtypes=(dtype,), purposes=purposes
    )


def test_a_plugin_without_gradients_has_its_gradient_cells_listed_as_untested():
    run = _audit(f"{TOYS}:careful")
    reasons = {row[-1] for row in run.untested}
    assert any("no gradient with respect to input" in r for r in reasons)
    assert run.value_comparisons > 0 and not run.divergences


def test_a_missing_function_makes_its_cells_untested_with_the_reason_and_no_cases():
    run = _audit(f"{TOYS}:logits_only", function="binary_cross_entropy")
    assert run.cases == 0 and run.value_comparisons == 0
    assert all("has no binary_cross_entropy" in row[-1] for row in run.untested)
    value = [p for p in run.purposes if p.purpose == "value"][0]
    assert value.compared == 0 and value.declined == value.generated > 0


def test_the_numpy_kernel_leaves_no_cell_untested():
    run = _audit("numpy", function="binary_cross_entropy", dtype="bfloat16")
    assert run.untested == [] and run.value_comparisons > 150


def test_an_elementwise_divergence_is_reduced_to_one_element_and_keeps_where_it_was_found():
    run = _audit(f"{TOYS}:large_logits_doubled")
    reduced = [d for d in run.divergences if d.found_in is not None]
    assert reduced
    for d in reduced:
        assert d.minimal.case["input"]["shape"] in ([1], [])
        assert d.found_in.case["input"]["shape"] not in ([1], [])


def test_a_careful_implementation_that_returns_nan_out_of_contract_passes_run(capsys):
    spec = f"{TOYS}:out_of_contract_nan"
    args = ["run", "--backend", spec, "--function", LOGITS, "--dtype", "float32", "--quiet"]
    args += ["--in-process"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "out_of_contract class(es)" in out and "value comparisons" in out


def test_strict_counts_out_of_contract_divergences(capsys):
    spec = f"{TOYS}:out_of_contract_nan"
    args = ["run", "--backend", spec, "--function", LOGITS, "--dtype", "float32", "--quiet"]
    assert main([*args, "--in-process", "--strict"]) == 1
    assert "[out_of_contract]" in capsys.readouterr().out


def test_run_prints_each_counted_class_with_its_minimal_case_and_a_replay(capsys):
    args = ["run", "--backend", f"{TOYS}:large_logits_doubled", "--function", LOGITS]
    assert main([*args, "--dtype", "float64", "--quiet", "--in-process"]) == 1
    out = capsys.readouterr().out
    assert "[defect]" in out and "expected" in out and "relative error" in out
    assert "bce-conformance replay --backend" in out


@pytest.mark.parametrize("dtype", ["float16"])
def test_under_floor_purposes_are_named(dtype, capsys):
    args = ["run", "--backend", f"{TOYS}:logits_only", "--function", "binary_cross_entropy"]
    main([*args, "--dtype", dtype, "--quiet", "--in-process"])
    assert "under its floor" in capsys.readouterr().out
