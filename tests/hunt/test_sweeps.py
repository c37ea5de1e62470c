"""Sweeps: every input of a format, exact statistics, the same numbers however they are run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conformance.cli import main
from conformance.hunt.executors import Checkpoint, InlineExecutor, make_executor
from conformance.hunt.sweep import SweepPlan, chunk_stats, merge_stats
from conformance.hunt.sweep_domain import (
    domain_size,
    exhaustive_tasks,
    inputs,
    sampled_tasks,
)
from conformance.hunt.sweep_run import PlannedSweep, run_sweeps

BCE = "binary_cross_entropy"
LOGITS = "binary_cross_entropy_with_logits"
NUDGED = "tests.plugins_fixtures.sweep_toys:nudged"


def _numpy_version() -> str:
    return np.__version__


def _sweep(function, dtype, target, backends, chunk, executor=None, checkpoint=None,
           quantities=("value", "grad_input"), task_function=None):  # fmt: skip
    plan = SweepPlan(function, dtype, target, quantities, tuple(backends))
    sweep = PlannedSweep(plan, exhaustive_tasks(function, dtype, chunk), True)
    kwargs = {} if task_function is None else {"task_function": task_function}
    (cells,) = run_sweeps([sweep], executor or InlineExecutor(), checkpoint, False, **kwargs)
    return {(c.backend, c.quantity): c.to_json() for c in cells}


@pytest.mark.parametrize(
    "function, dtype, size",
    [
        (LOGITS, "float16", 2**16 - 2 * 2**10),  # all but the 2^11 inf and NaN patterns
        (LOGITS, "bfloat16", 2**16 - 2 * 2**7),
        (BCE, "float16", 0x3C00 + 1 + 1),  # +0 .. 1.0, and -0.0
        (BCE, "bfloat16", 0x3F80 + 1 + 1),
        (LOGITS, "float32", 2**32 - 2 * 2**23),
    ],
)
def test_the_domain_is_every_finite_input_or_every_probability(function, dtype, size):
    assert domain_size(function, dtype) == size


def test_exhaustive_tasks_visit_each_domain_input_once_in_bit_order():
    seen = np.concatenate(
        [inputs(t, BCE, "float16") for t in exhaustive_tasks(BCE, "float16", 999)]
    )
    bits = seen.view(np.uint16)
    assert seen.size == domain_size(BCE, "float16") and np.all(np.diff(bits.astype(int)) > 0)
    assert ((seen >= 0) & (seen <= 1)).all()


def test_samples_lie_in_their_binade_and_spread_over_all_binades():
    tasks = sampled_tasks(LOGITS, "float32", 10_000, 0, 1000)
    exponents = set()
    for t in tasks:
        x = inputs(t, LOGITS, "float32")
        e = (x.view(np.uint32) >> 23) & 0xFF
        assert (e == t[2]).all() and ((x.view(np.uint32) >> 31) == t[1]).all()
        exponents.add((t[1], t[2]))
    assert len(exponents) == 2 * 255


def test_our_kernel_is_correctly_rounded_on_bce_float16_at_target_one_half():
    cells = _sweep(BCE, "float16", 0.5, [("numpy", _numpy_version())], 1 << 15)
    for q in ("value", "grad_input"):
        c = cells[("numpy", q)]
        assert c["count"] == domain_size(BCE, "float16")
        assert c["not_correctly_rounded"] == 0 and c["max_ulp"] == 0 and c["worst_input"] is None


def test_a_sweep_counts_exactly_the_results_that_are_off():
    # nudged = our kernel with the loss at +0 three ULP up, at 1.0 one ULP up, and the input
    # gradient at -0 NaN; the kernel is correctly rounded here (test above).
    cells = _sweep(BCE, "float16", 0.5, [(NUDGED, "1")], 1 << 15)
    value, grad = cells[(NUDGED, "value")], cells[(NUDGED, "grad_input")]
    assert (value["not_correctly_rounded"], value["beyond_tolerance"], value["max_ulp"]) == (
        2,
        1,
        3,
    )
    assert value["worst_input"]["input"] == "0x0000" and value["worst_input"]["ulp"] == 3
    assert value["histogram"]["1"] == 1 and value["histogram"]["3-4"] == 1
    assert value["by_binade"]["0:0"][1:3] == [1, 3.0]  # the zero and subnormal binade
    assert (grad["nan_mismatch"], grad["beyond_tolerance"], grad["max_ulp"]) == (1, 1, 0)
    assert grad["worst_input"]["input"] == "0x8000" and grad["worst_input"]["ulp"] is None


def test_the_numbers_do_not_depend_on_the_chunking():
    backends = [(NUDGED, "1")]
    assert _sweep(LOGITS, "bfloat16", 0.5, backends, 1 << 16) == _sweep(
        LOGITS, "bfloat16", 0.5, backends, 777
    )


def test_merging_is_commutative_and_ties_go_to_the_smallest_input():
    x = np.array([0.5, 0.25], dtype=np.float16)
    want = np.array([1.0, 1.0], dtype=np.float16)
    got = np.nextafter(want, np.float16(2))
    a, b = chunk_stats(x[:1], want[:1], got[:1], 2), chunk_stats(x[1:], want[1:], got[1:], 2)
    assert merge_stats(a, b) == merge_stats(b, a)
    assert merge_stats(a, b)["worst"]["input"] == "0x3400"  # 0.25 has the smaller bit pattern


def test_an_interrupted_sweep_resumes_from_its_checkpoint(tmp_path):
    backends = [("numpy", _numpy_version())]
    first = _sweep(LOGITS, "float16", 0.0, backends, 1 << 14, checkpoint=Checkpoint(tmp_path))
    assert len(list(tmp_path.glob("*.json"))) == 4

    def must_not_run(*args, **kwargs):
        raise AssertionError("a checkpointed task ran again")

    again = _sweep(LOGITS, "float16", 0.0, backends, 1 << 14, checkpoint=Checkpoint(tmp_path),
                   task_function=must_not_run)  # fmt: skip
    assert again == first


def test_local_processes_give_the_numbers_of_one_process():
    backends = [("numpy", _numpy_version())]
    executor = make_executor(2, None)
    try:
        parallel = _sweep(BCE, "bfloat16", 0.1, backends, 1 << 12, executor=executor)
    finally:
        executor.close()
    assert parallel == _sweep(BCE, "bfloat16", 0.1, backends, 1 << 12)


def test_a_dask_local_cluster_of_two_workers_gives_the_numbers_of_one_process():
    pytest.importorskip("distributed")
    backends = [("numpy", _numpy_version())]
    executor = make_executor(2, "local")
    try:
        on_dask = _sweep(BCE, "float16", 0.9, backends, 1 << 12, executor=executor)
    finally:
        executor.close()
    assert on_dask == _sweep(BCE, "float16", 0.9, backends, 1 << 12)


def test_sweep_command_prints_one_json_object_per_cell(capsys, tmp_path):
    code = main(["sweep", "--backend", "numpy", "--function", BCE, "--dtype", "bfloat16",
                 "--target", "1", "--workers", "1", "--json", "--quiet",
                 "--report-dir", str(tmp_path)])  # fmt: skip
    assert code == 0
    cells = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [c["quantity"] for c in cells] == ["value", "grad_input"]
    assert all(c["exhaustive"] and c["count"] == domain_size(BCE, "bfloat16") for c in cells)
    for key in ("max_ulp", "worst_input", "not_correctly_rounded", "beyond_tolerance",
                "max_relative_error"):  # fmt: skip
        assert key in cells[0]
    table = json.loads((tmp_path / "accuracy.json").read_text())
    assert [c["quantity"] for c in table["cells"]] == ["grad_input", "value"]
    assert "## binary_cross_entropy — bfloat16" in (tmp_path / "accuracy.md").read_text()
    assert "data:image/png;base64," in (tmp_path / "accuracy.html").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--target", "1.5"], "outside [0, 1]"),
        (["--dtype", "float64"], "give --samples"),
        (["--pos-weight", "2"], "--pos-weight needs"),
        (["--quantity", "grad_weight"], "needs --weight"),
        (["--target", "nan"], "must be finite"),
        (["--samples", "0"], "at least 1"),
        (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach a Dask scheduler"),
    ],
)
def test_bad_sweep_input_exits_2_with_a_message(argv, message, capsys):
    code = main(["sweep", "--backend", "numpy", "--dtype", "float16", "--quiet", *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_an_unknown_backend_exits_2(capsys):
    assert main(["sweep", "--backend", "no_such_module_xyz", "--quiet"]) == 2
    assert "no_such_module_xyz" in capsys.readouterr().err


def _table(tmp_path, backend, name):
    folder = tmp_path / name
    argv = ["sweep", "--backend", backend, "--function", BCE, "--dtype", "float16",
            "--target", "0.5", "--workers", "1", "--quiet", "--report-dir", str(folder)]  # fmt: skip
    return main(argv), folder / "accuracy.json"


def test_a_sweep_gated_on_its_own_table_passes(tmp_path, capsys):
    _, table = _table(tmp_path, "numpy", "first")
    argv = ["sweep", "--backend", "numpy", "--function", BCE, "--dtype", "float16",
            "--target", "0.5", "--workers", "1", "--quiet", "--baseline", str(table)]  # fmt: skip
    assert main(argv) == 0 and "Sweep gate: PASS" in capsys.readouterr().out


def test_the_sweep_gate_fails_when_a_cell_gets_worse(tmp_path):
    from conformance.gate.sweep_gate import gate_sweep, load_sweep_baseline

    _, table = _table(tmp_path, "numpy", "first")
    baseline = load_sweep_baseline(table)
    worse = json.loads(table.read_text())["cells"]
    worse[0]["max_ulp"] += 1
    worse[1]["beyond_tolerance"] += 3
    result = gate_sweep(worse, baseline)
    assert result.exit_code == 1 and len(result.failures) == 2
    assert "max_ulp 0 -> 1" in result.failures[0] or "max_ulp 0 -> 1" in result.failures[1]


def test_a_new_cell_beyond_tolerance_fails_the_sweep_gate(tmp_path):
    from conformance.gate.sweep_gate import gate_sweep

    _, table = _table(tmp_path, "numpy", "first")
    cells = json.loads(table.read_text())["cells"]
    cells[0]["beyond_tolerance"] = 1
    assert gate_sweep(cells, {}).exit_code == 1
    cells[0]["beyond_tolerance"] = 0
    assert gate_sweep(cells, {}).exit_code == 0


@pytest.mark.parametrize("content, message", [("{", "not JSON"), ('{"format": "x"}', "format")])
def test_a_malformed_sweep_baseline_exits_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    argv = ["sweep", "--backend", "numpy", "--dtype", "float16", "--quiet", "--baseline", str(bad)]
    assert main(argv) == 2 and message in capsys.readouterr().err


def test_samples_do_not_depend_on_the_chunking():
    def drawn(chunk):
        tasks = sampled_tasks(LOGITS, "float16", 5000, 3, chunk)
        return np.sort(
            np.concatenate([inputs(t, LOGITS, "float16") for t in tasks]).view(np.uint16)
        )

    assert np.array_equal(drawn(1000), drawn(37))


def test_a_sampled_bce_sweep_includes_one_and_negative_zero():
    tasks = sampled_tasks(BCE, "float16", 100, 0, 50)
    bits = np.concatenate([inputs(t, BCE, "float16") for t in tasks]).view(np.uint16)
    assert 0x3C00 in bits and 0x8000 in bits


def test_a_chunk_a_backend_crashed_on_is_not_checkpointed(tmp_path):
    from conformance.hunt.sweep_run import _transient

    crashed = {"task": ["range", 0, 1], "count": 1, "cells": {"b": {"status": "crashed"}}}
    unsupported = {"task": ["range", 0, 1], "count": 1, "cells": {"b": {"status": "unsupported"}}}
    assert _transient(crashed) and not _transient(unsupported)


def test_a_sweep_gate_refuses_to_compare_sampled_with_exhaustive(tmp_path):
    from conformance.gate.sweep_gate import cell_key, gate_sweep

    _, table = _table(tmp_path, "numpy", "first")
    cells = json.loads(table.read_text())["cells"]
    baseline = {cell_key(c): dict(c) for c in cells}
    for c in cells:
        c["exhaustive"], c["count"] = False, 100
    result = gate_sweep(cells, baseline)
    assert result.exit_code == 1 and "not comparable" in result.failures[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seed", "-1", "--samples", "10"], "must be >= 0"),
        (["--scheduler", "foo"], "cannot reach a Dask scheduler"),
        (["--weight", "1e6"], "overflows float16"),
        (["--timeout", "0"], "must be > 0"),
    ],
)
def test_more_bad_sweep_input_exits_2(argv, message, capsys):
    assert main(["sweep", "--backend", "numpy", "--dtype", "float16", "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_baseline_cell_without_its_numbers_exits_2(tmp_path, capsys):
    _, table = _table(tmp_path, "numpy", "first")
    data = json.loads(table.read_text())
    del data["cells"][0]["max_ulp"]
    table.write_text(json.dumps(data))
    argv = [
        "sweep",
        "--backend",
        "numpy",
        "--dtype",
        "float16",
        "--quiet",
        "--baseline",
        str(table),
    ]
    assert main(argv) == 2 and "max_ulp: must be a number" in capsys.readouterr().err


def test_every_cell_names_the_machine_whose_vector_kernels_computed_it(tmp_path, capsys):
    """NumPy and the frameworks pick their SIMD kernels by the CPU, and the results differ
    (conformance/hunt/machine.py): a cell records its machines, the table names them."""
    from conformance.hunt.machine import fingerprint

    cells = _sweep(BCE, "bfloat16", 1.0, [("numpy", _numpy_version())], 1 << 12)
    assert all(c["machines"] == [fingerprint()] for c in cells.values())
    assert "numpy " in fingerprint()  # NumPy's enabled dispatch targets
    main(["sweep", "--backend", "numpy", "--function", BCE, "--dtype", "bfloat16", "--target",
          "1", "--workers", "1", "--quiet", "--report-dir", str(tmp_path)])  # fmt: skip
    capsys.readouterr()
    assert f"Computed on: `{fingerprint()}`." in (tmp_path / "accuracy.md").read_text()


def test_numpys_dispatch_switched_off_by_the_environment_changes_the_fingerprint():
    import subprocess
    import sys

    code = "from conformance.hunt.machine import fingerprint; print(fingerprint())"
    env = {**__import__("os").environ, "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
    limited = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
    from conformance.hunt.machine import fingerprint

    if "X86_V4" not in fingerprint():
        pytest.skip("this CPU has no X86_V4 dispatch target to switch off")
    assert "X86_V4" not in limited and limited != fingerprint()


def test_the_sweep_gate_warns_when_the_baseline_was_computed_on_another_machine(tmp_path):
    from conformance.gate.sweep_gate import gate_sweep, load_sweep_baseline

    _, table = _table(tmp_path, "numpy", "first")
    data = json.loads(table.read_text())
    for cell in data["cells"]:
        cell["machines"] = ["x86_64 · another CPU · avx2 fma · numpy X86_V3"]
    table.write_text(json.dumps(data))
    again = json.loads(_table(tmp_path, "numpy", "second")[1].read_text())["cells"]
    result = gate_sweep(again, load_sweep_baseline(table))
    assert result.exit_code == 0
    assert any("baseline on x86_64 · another CPU" in w for w in result.warnings)


def test_a_sweep_attached_to_a_dask_scheduler_by_address_gives_the_local_numbers(capsys):
    """``--scheduler tcp://host:port`` (here: the address of a two-worker cluster started for
    the test, as a real cluster's would be given) prints the cells of a local run."""
    distributed = pytest.importorskip("distributed")
    argv = ["sweep", "--backend", "numpy", "--function", BCE, "--dtype", "bfloat16",
            "--target", "0.9", "--chunk", "4096", "--json", "--quiet"]  # fmt: skip
    assert main(argv + ["--workers", "1"]) == 0
    local = capsys.readouterr().out
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        assert cluster.scheduler_address.startswith("tcp://")
        assert main(argv + ["--scheduler", cluster.scheduler_address]) == 0
    assert capsys.readouterr().out == local
