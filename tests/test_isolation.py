"""Worker-process isolation: crashes and hangs cost one call, never the run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conformance.backends.isolation import evaluate_in_process, evaluate_isolated
from conformance.backends.plugins import BackendSetupError, load_backend
from conformance.backends.protocol import Call

TESTS_DIR = Path(__file__).resolve().parent
MISBEHAVING = "plugins_fixtures.toy_backends:misbehaving"


@pytest.fixture(autouse=True)
def fixtures_on_path(monkeypatch):
    # spawn hands sys.path to the worker, so the worker can import the fixtures too
    monkeypatch.syspath_prepend(str(TESTS_DIR))


def call_with_first(first: float) -> Call:
    x = np.array([first, 0.3], dtype=np.float64)
    y = np.array([1.0, 0.0], dtype=np.float64)
    return Call("binary_cross_entropy", "float64", x, y)


def bce_mean(first: float) -> float:
    return float(np.mean([-np.log(first), -np.log1p(-0.3)]))


def test_isolated_answers_match_in_process_answers():
    calls = [call_with_first(0.1), call_with_first(0.2)]
    outcomes = evaluate_isolated(MISBEHAVING, calls, timeout_s=30)
    assert [o.status for o in outcomes] == ["ok", "ok"]
    assert outcomes[0].value == pytest.approx(bce_mean(0.1))
    assert outcomes[1].value == pytest.approx(bce_mean(0.2))


def test_os_exit_is_crashed_and_the_next_call_still_answered():
    outcomes = evaluate_isolated(
        MISBEHAVING, [call_with_first(0.25), call_with_first(0.1)], timeout_s=30
    )
    assert outcomes[0].status == "crashed"
    assert "exited with status 7" in outcomes[0].error
    assert outcomes[1].status == "ok"
    assert outcomes[1].value == pytest.approx(bce_mean(0.1))


def test_segfault_is_crashed_with_the_signal_named():
    outcomes = evaluate_isolated(
        MISBEHAVING, [call_with_first(0.1), call_with_first(0.5), call_with_first(0.2)], 30
    )
    assert [o.status for o in outcomes] == ["ok", "crashed", "ok"]
    assert "SIGSEGV" in outcomes[1].error


def test_hang_is_timeout_and_the_next_call_still_answered():
    start = time.monotonic()
    outcomes = evaluate_isolated(
        MISBEHAVING, [call_with_first(0.75), call_with_first(0.1)], timeout_s=1.0
    )
    assert outcomes[0].status == "timeout"
    assert outcomes[1].status == "ok"
    assert outcomes[1].value == pytest.approx(bce_mean(0.1))
    assert time.monotonic() - start < 20


def test_one_worker_serves_many_calls():
    start = time.monotonic()
    outcomes = evaluate_isolated(MISBEHAVING, [call_with_first(0.1)] * 200, timeout_s=30)
    assert all(o.status == "ok" for o in outcomes)
    # 200 worker start-ups would take far longer than this
    assert time.monotonic() - start < 10


def test_unknown_backend_in_isolation_raises_setup_error():
    with pytest.raises(BackendSetupError, match="unknown backend 'no-such-backend'"):
        evaluate_isolated("no-such-backend", [call_with_first(0.1)], timeout_s=30)


def test_backend_dying_while_loading_raises_setup_error():
    with pytest.raises(BackendSetupError, match="exited with status 3 while loading"):
        evaluate_isolated("plugins_fixtures.crash_on_import:x", [call_with_first(0.1)], 30)


def test_worker_output_does_not_reach_stdout(capfd):
    outcomes = evaluate_isolated(
        "plugins_fixtures.toy_backends:chatty", [call_with_first(0.1)], timeout_s=30
    )
    assert outcomes[0].status == "ok"
    out, err = capfd.readouterr()
    assert "CHATTY" not in out
    assert "CHATTY-FD1" in err


def test_no_calls_start_no_worker():
    assert evaluate_isolated("no-such-backend", [], timeout_s=1) == []


def test_in_process_exception_from_evaluate_is_crashed():
    backend = load_backend("plugins_fixtures.toy_backends:Explodes")
    out = evaluate_in_process(backend, call_with_first(0.1))
    assert out.status == "crashed"
    assert "ZeroDivisionError: adapter bug" in out.error


def test_in_process_non_outcome_answer_is_crashed():
    backend = load_backend("plugins_fixtures.toy_backends:ReturnsNone")
    out = evaluate_in_process(backend, call_with_first(0.1))
    assert out.status == "crashed"
    assert "NoneType" in out.error


def test_in_process_passes_ordinary_outcomes_through():
    backend = load_backend(MISBEHAVING)
    out = evaluate_in_process(backend, call_with_first(0.1))
    assert out.status == "ok"
    assert out.value == pytest.approx(bce_mean(0.1))


def test_torch_backend_in_a_worker_answers_like_in_process():
    pytest.importorskip("torch")
    calls = [call_with_first(0.1), call_with_first(0.2)]
    backend = load_backend("torch")
    isolated = evaluate_isolated("torch", calls, timeout_s=60)
    for call, outcome in zip(calls, isolated):
        assert outcome.status == "ok"
        assert outcome.value.tobytes() == evaluate_in_process(backend, call).value.tobytes()


def test_backend_asking_for_restart_gets_a_fresh_worker_and_keeps_its_answer():
    spec = "plugins_fixtures.toy_backends:PidBackend"
    calls = [call_with_first(0.1), call_with_first(0.9), call_with_first(0.1), call_with_first(0.1)]
    pids = [float(o.value) for o in evaluate_isolated(spec, calls, timeout_s=30)]
    assert pids[0] == pids[1]
    assert pids[2] != pids[1]
    assert pids[3] == pids[2]


def test_works_from_a_program_without_main_guard(tmp_path):
    script = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from conformance.backends.isolation import evaluate_isolated\n"
        "from conformance.backends.protocol import Call\n"
        "c = Call('binary_cross_entropy', 'float64', np.array([0.1, 0.3]), np.array([1.0, 0.0]))\n"
        f"print(evaluate_isolated({MISBEHAVING!r}, [c], 30)[0].status)\n"
    )
    root = str(TESTS_DIR.parent)
    result = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, cwd=root, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_a_submitted_call_is_timed_from_its_send_not_from_its_collection():
    from conformance.backends.isolation import IsolatedRunner

    runner = IsolatedRunner(MISBEHAVING, timeout_s=1.0)
    try:
        wait = runner.submit(call_with_first(0.75))  # hangs
        time.sleep(1.5)  # the caller works longer than the timeout
        start = time.monotonic()
        assert wait().status == "timeout"
        assert time.monotonic() - start < 0.9  # no second full timeout
    finally:
        runner.close()


def test_a_call_never_collected_does_not_stop_the_next_one():
    from conformance.backends.isolation import IsolatedRunner

    runner = IsolatedRunner(MISBEHAVING, timeout_s=30)
    try:
        runner.submit(call_with_first(0.1))  # its caller raised before collecting
        outcome = runner.submit(call_with_first(0.2))()
        assert outcome.status == "ok" and outcome.value == pytest.approx(bce_mean(0.2))
    finally:
        runner.close()
