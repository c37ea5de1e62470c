"""Every verdict kind, produced on purpose by a deliberately wrong toy backend.

The toys (tests/plugins_fixtures/wrong_backends.py) answer with the oracle's own correctly
rounded values and break exactly one thing each.
"""

import json

import numpy as np

from conformance.backends.isolation import IsolatedRunner, evaluate_in_process
from conformance.cases import Case
from conformance.cli import main
from conformance.judge.evaluate import evaluate_case
from tests.plugins_fixtures import wrong_backends as toys

GOOD = Case(
    function="binary_cross_entropy_with_logits",
    dtype="float32",
    input=np.array([0.5, -2.0, 3.0], np.float32),
    target=np.array([1.0, 0.0, 0.25], np.float32),
    reduction="none",
)
CONTRACT_VIOLATED = Case(
    function="binary_cross_entropy",
    dtype="float32",
    input=np.array([1.5], np.float32),
    target=np.array([1.0], np.float32),
    reduction="none",
)


def verdicts(backend, case=GOOD, runner=None):
    return {r.quantity: r.verdict for r in evaluate_case(backend, case, runner)}


def test_the_oracle_itself_conforms():
    assert set(verdicts(toys.OracleBackend()).values()) == {"conforms"}


def test_eight_ulps_off_is_a_value_mismatch():
    assert verdicts(toys.OffByEightUlps())["value"] == "value_mismatch"


def test_nan_for_numbers_is_a_nan_mismatch():
    assert verdicts(toys.AlwaysNan())["value"] == "nan_mismatch"


def test_inf_for_finite_is_an_inf_mismatch():
    assert verdicts(toys.AlwaysInf())["value"] == "inf_mismatch"


def test_wrong_shape_is_a_shape_mismatch():
    assert verdicts(toys.WrongShape())["value"] == "shape_mismatch"


def test_raising_where_the_contract_is_met_is_raised():
    assert verdicts(toys.AlwaysRaises())["value"] == "raised"


def test_returning_where_the_contract_is_violated_is_did_not_raise():
    assert verdicts(toys.NeverRaises(), CONTRACT_VIOLATED)["value"] == "did_not_raise"


def test_raising_where_the_contract_is_violated_conforms():
    assert verdicts(toys.OracleBackend(), CONTRACT_VIOLATED)["value"] == "conforms"


def test_an_undeclared_dtype_is_unsupported():
    assert verdicts(toys.Float64Only())["value"] == "unsupported"


def test_an_adapter_that_throws_is_crashed():
    backend = toys.CrashingAdapter()
    assert (
        verdicts(backend, runner=lambda call: evaluate_in_process(backend, call))["value"]
        == "crashed"
    )


def test_a_backend_that_hangs_is_timeout():
    runner = IsolatedRunner("tests.plugins_fixtures.wrong_backends:Sleeper", timeout_s=2)
    try:
        assert verdicts(toys.Sleeper(), runner=runner)["value"] == "timeout"
    finally:
        runner.close()


def test_a_wrong_gradient_is_judged_separately_from_the_value():
    class WrongGradient(toys.OracleBackend):
        def evaluate(self, call):
            outcome = super().evaluate(call)
            outcome.gradients = {k: -v for k, v in outcome.gradients.items()}
            return outcome

    v = verdicts(WrongGradient())
    assert v["value"] == "conforms" and v["grad_input"] == "value_mismatch"


# -- the gate, end to end through the command line ------------------------------------------------

WRONG = "tests.plugins_fixtures.wrong_backends:off_by_eight_ulps"
ARGS = [
    "--profile",
    "ci",
    "--function",
    "binary_cross_entropy",
    "--dtype",
    "float16",
    "--purpose",
    "value",
    "--purpose",
    "contract",
    "--in-process",
    "--quiet",
]


def test_run_exits_zero_for_a_conforming_backend(capsys):
    assert (
        main(["run", "--backend", "tests.plugins_fixtures.wrong_backends:oracle_backend", *ARGS])
        == 0
    )


def test_run_exits_one_for_a_diverging_backend(capsys):
    assert main(["run", "--backend", WRONG, *ARGS]) == 1
    assert "value_mismatch" in capsys.readouterr().out


def _baseline(tmp_path, classes):
    path = tmp_path / "baseline.json"
    entries = {c: {"explanation": "deliberately wrong toy"} for c in classes}
    path.write_text(
        json.dumps(
            {
                "format": "bce-conformance-baseline/1",
                "backends": {"off-by-eight-ulps": {"version": "0", "classes": entries}},
            }
        )
    )
    return path


def _classes(capsys):
    main(["run", "--backend", WRONG, *ARGS])
    out = capsys.readouterr().out
    return [line.split()[1] for line in out.splitlines() if line.startswith("  [")]


def test_gate_passes_when_every_class_is_in_the_baseline(tmp_path, capsys):
    classes = _classes(capsys)
    assert classes
    assert (
        main(["run", "--backend", WRONG, *ARGS, "--baseline", str(_baseline(tmp_path, classes))])
        == 0
    )


def test_gate_fails_naming_the_class_removed_from_the_baseline(tmp_path, capsys):
    classes = _classes(capsys)
    baseline = _baseline(tmp_path, classes[1:])
    assert main(["run", "--backend", WRONG, *ARGS, "--baseline", str(baseline)]) == 1
    assert classes[0] in capsys.readouterr().out


def test_a_malformed_baseline_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "baseline.json"
    bad.write_text("{not json")
    assert main(["run", "--backend", WRONG, *ARGS, "--baseline", str(bad)]) == 2
    assert "baseline" in capsys.readouterr().err


def test_an_unknown_backend_is_a_usage_error(capsys):
    assert main(["run", "--backend", "no_such_backend_anywhere"]) == 2
    assert "no_such_backend_anywhere" in capsys.readouterr().err


def test_replay_prints_one_verdict_per_case_in_order(tmp_path, capsys):
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps(
            [
                {
                    "function": "binary_cross_entropy_with_logits",
                    "dtype": "float32",
                    "reduction": "mean",
                    "input": [0.5, "-2.5"],
                    "target": [1, 0],
                },
                {
                    "function": "binary_cross_entropy",
                    "dtype": "float64",
                    "reduction": "none",
                    "input": [1.5],
                    "target": [1],
                },
            ]
        )
    )
    assert main(["replay", "--backend", WRONG, str(cases), "--json", "--in-process"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in rows] == ["value_mismatch", "conforms"]


def test_replay_rejects_a_malformed_case_file(tmp_path, capsys):
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps(
            [{"function": "binary_cross_entropy", "dtype": "float8", "input": [0.5], "target": [1]}]
        )
    )
    assert main(["replay", "--backend", WRONG, str(cases)]) == 2
    assert "dtype" in capsys.readouterr().err
