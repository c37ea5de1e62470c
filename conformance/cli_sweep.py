"""``bce-conformance sweep``: every input of a format (or stratified samples) against the oracle.

    bce-conformance sweep --backend B [--backend B2 ...] [--function F] [--dtype D]
        [--target Y ...] [--weight W] [--pos-weight P] [--quantity Q ...] [--samples N]
        [--workers N] [--scheduler ADDR|local] [--checkpoint DIR] [--json]
        [--report-dir DIR] [--report-stem S]

Defaults: both functions, float16 and bfloat16, targets 0, 0.1, 0.5, 0.9 and 1 (each rounded
into the dtype), quantities ``value`` and ``grad_input``. float16, bfloat16 and float32 are swept
exhaustively (float32: 2^32 logits, or every probability in [0, 1]: long; see the README) unless
``--samples`` is given; float64 needs ``--samples``. Exit status: 0 when every cell was swept
(its numbers are data: tolerances are counted, not gated; a backend's ``unsupported`` or
``raised`` is a result too) and, with ``--baseline``, no cell got worse than in that accuracy
table (conformance.gate.sweep_gate); 1 when a backend crashed or hung on some chunk, or a cell
got worse; 2 on bad input (a malformed baseline included) or when the executor cannot start.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from conformance.backends.protocol import DTYPES, FUNCTIONS

DEFAULT_TARGETS = (0.0, 0.1, 0.5, 0.9, 1.0)
DEFAULT_QUANTITIES = ("value", "grad_input")
LOGITS = "binary_cross_entropy_with_logits"


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def add_parser(sub) -> None:
    from conformance.hunt.sweep import QUANTITIES

    sp = sub.add_parser(
        "sweep",
        help="every input of a format (or stratified samples) against the oracle: accuracy tables",
    )
    sp.add_argument("--backend", action="append", required=True, help="as for run (repeatable)")
    sp.add_argument("--function", action="append", choices=FUNCTIONS, help="default: both")
    sp.add_argument("--dtype", action="append", choices=DTYPES,
                    help="default: float16 and bfloat16")  # fmt: skip
    sp.add_argument("--target", action="append", type=_finite,
                    help="target value(s) in [0, 1] (default: 0, 0.1, 0.5, 0.9, 1)")  # fmt: skip
    sp.add_argument("--weight", type=_finite, help="a weight for every element (default: none)")
    sp.add_argument("--pos-weight", type=_finite,
                    help="a pos_weight for every element (with_logits only)")  # fmt: skip
    sp.add_argument("--quantity", action="append", choices=QUANTITIES,
                    help="default: value and grad_input")  # fmt: skip
    sp.add_argument("--samples", type=_count,
                    help="stratified samples per sweep instead of every input (float64 needs it)")  # fmt: skip
    sp.add_argument("--seed", type=_natural, default=0, help="seed of the samples (>= 0)")
    sp.add_argument("--chunk", type=_count, default=None,
                    help="inputs per task (default 2^15 for 16-bit formats, 2^22 otherwise)")  # fmt: skip
    sp.add_argument("--workers", type=_count, default=None,
                    help="worker processes (default: the CPUs of this machine)")  # fmt: skip
    sp.add_argument("--scheduler", default=None,
                    help="a Dask scheduler address (tcp://host:8786), or 'local' for a Dask "
                    "LocalCluster; default: $DASK_SCHEDULER_ADDRESS, else local processes")  # fmt: skip
    sp.add_argument("--checkpoint", type=Path, default=None,
                    help="keep finished chunks here; the same command again resumes")  # fmt: skip
    sp.add_argument("--timeout", type=_positive, default=600.0,
                    help="seconds per backend call (one chunk; default 600)")  # fmt: skip
    sp.add_argument("--in-process", action="store_true",
                    help="call the backends in the sweep workers (no crash/hang isolation)")  # fmt: skip
    sp.add_argument("--json", action="store_true", help="print one JSON object per cell")
    sp.add_argument("--baseline", type=Path, default=None,
                    help="an accuracy table (JSON) to gate on: exit 1 when a cell got worse")  # fmt: skip
    sp.add_argument("--report-dir", type=Path, default=None,
                    help="write the accuracy tables (JSON, Markdown, HTML with plots) here")  # fmt: skip
    sp.add_argument("--report-stem", default="accuracy", help="file name stem (default accuracy)")
    sp.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _plans(args, versions: dict[str, str], usage_error):
    from conformance.hunt.sweep import SweepPlan, in_dtype
    from conformance.hunt.sweep_domain import exhaustive_tasks, sampled_tasks
    from conformance.hunt.sweep_run import PlannedSweep

    functions = tuple(dict.fromkeys(args.function or FUNCTIONS))
    dtypes = tuple(dict.fromkeys(args.dtype or ("float16", "bfloat16")))
    targets = tuple(args.target if args.target is not None else DEFAULT_TARGETS)
    quantities = tuple(dict.fromkeys(args.quantity or DEFAULT_QUANTITIES))
    bad = [t for t in targets if not 0.0 <= t <= 1.0]
    if bad:
        usage_error(f"--target: {bad[0]!r} is outside [0, 1], the documented domain of targets")
    if args.pos_weight is not None and functions != (LOGITS,):
        usage_error("--pos-weight needs --function binary_cross_entropy_with_logits alone")
    if "grad_weight" in quantities and args.weight is None:
        usage_error("--quantity grad_weight needs --weight")
    if "grad_pos_weight" in quantities and args.pos_weight is None:
        usage_error("--quantity grad_pos_weight needs --pos-weight")
    if "float64" in dtypes and args.samples is None:
        usage_error("float64 has 2^64 inputs: give --samples N (stratified by binade)")
    for dtype in dtypes:
        for flag, value in (("--weight", args.weight), ("--pos-weight", args.pos_weight)):
            if value is not None and not math.isfinite(in_dtype(value, dtype)):
                usage_error(f"{flag} {value!r} overflows {dtype} (rounds to infinity)")
    backends = tuple(versions.items())
    sweeps = []
    for function in functions:
        for dtype in dtypes:
            chunk = args.chunk or (1 << 15 if dtype in ("float16", "bfloat16") else 1 << 22)
            if args.samples is None:
                tasks, exhaustive = exhaustive_tasks(function, dtype, chunk), True
            else:
                tasks = sampled_tasks(function, dtype, args.samples, args.seed, chunk)
                exhaustive = False
            for target in dict.fromkeys(in_dtype(t, dtype) for t in targets):
                plan = SweepPlan(
                    function, dtype, target, quantities, backends,
                    weight=None if args.weight is None else in_dtype(args.weight, dtype),
                    pos_weight=None if args.pos_weight is None else in_dtype(args.pos_weight, dtype),
                )  # fmt: skip
                sweeps.append(PlannedSweep(plan, tasks, exhaustive))
    return sweeps


def _line(cell: dict) -> str:
    head = (f"{cell['backend']} {cell['function']} {cell['dtype']} {cell['quantity']} "
            f"y={cell['target']:.6g}")  # fmt: skip
    if cell["status"] != "ok":
        return f"{head}: {cell['status']} ({cell.get('error', '')[:120]})"
    worst = cell["worst_input"]
    where = f" at x={worst['input_value']} ({worst['input']})" if worst else ""
    kind = "exhaustive" if cell["exhaustive"] else "sampled: a lower bound"
    return (
        f"{head}: max {cell['max_ulp']:g} ULP{where}; {cell['not_correctly_rounded']} of "
        f"{cell['count']} not correctly rounded, {cell['beyond_tolerance']} beyond "
        f"{cell['tolerance_ulp']:g} ULP ({kind})"
    )


def single_threaded_backends() -> None:
    """Every backend of a sweep computes on one thread, wherever it runs (this process, a
    backend worker, a local or Dask worker). torch's float32 with-logits input gradient is not
    the same with two intra-op threads as with one (2 of 50,331,900 sampled inputs differed,
    y = 0: presumably the elements each thread leaves to its scalar loop instead of the
    vectorized one), so a sweep would depend on the worker count and the machine's cores."""
    from conformance.hunt.executors import SINGLE_THREADED

    for key, value in SINGLE_THREADED.items():
        os.environ.setdefault(key, value)  # inherited by every process started from here
    torch = sys.modules.get("torch")
    if torch is not None:  # already imported here (in-process backends): its pool is sized
        torch.set_num_threads(1)


def run_sweep_command(args, load, usage_error_type) -> int:
    """The ``sweep`` command (module docstring); ``load`` loads a backend spec (UsageError)."""
    from conformance.hunt.allocator import keep_chunk_arrays_in_heap
    from conformance.hunt.executors import Checkpoint, ExecutorError, make_executor
    from conformance.hunt.sweep_run import run_sweeps
    from conformance.report.accuracy import accuracy_html, accuracy_json, accuracy_markdown
    from conformance.report.report_files import atomic_write_text

    def usage_error(message: str):
        raise usage_error_type(message)

    single_threaded_backends()
    keep_chunk_arrays_in_heap()  # a speed setting, inherited by the processes started from here
    baseline = None
    if args.baseline is not None:
        from conformance.gate.sweep_gate import SweepBaselineError, load_sweep_baseline

        try:
            baseline = load_sweep_baseline(args.baseline)
        except SweepBaselineError as exc:
            usage_error(str(exc))
    versions = {}
    for spec in dict.fromkeys(args.backend):
        versions[spec] = load(spec).version
    sweeps = _plans(args, versions, usage_error)
    if args.report_dir is not None:
        _writable(args.report_dir, usage_error)
    checkpoint = None
    if args.checkpoint is not None:
        try:
            checkpoint = Checkpoint(args.checkpoint)
        except OSError as exc:
            usage_error(f"--checkpoint: cannot use {args.checkpoint} ({exc.strerror or exc})")
    workers = args.workers or os.cpu_count() or 1
    try:
        executor = make_executor(workers, args.scheduler)
    except ExecutorError as exc:
        usage_error(str(exc))
    if not args.quiet:
        total = sum(len(s.tasks) for s in sweeps)
        print(f"sweep: {len(sweeps)} sweep(s), {total} chunks on {executor.name}", file=sys.stderr)
    try:
        timeout = None if args.in_process else args.timeout
        results = run_sweeps(
            sweeps, executor, checkpoint, progress=not args.quiet,
            task_function=_task_function(timeout),
        )  # fmt: skip
    except (KeyboardInterrupt, usage_error_type):
        raise
    except Exception as exc:  # a task failed outside the backends (or a worker died)
        message = str(exc).splitlines()[0] if str(exc) else ""
        usage_error(f"a sweep task failed: {type(exc).__name__}: {message}")
    finally:
        executor.close()
    cells = [c.to_json() for cell_list in results for c in cell_list]
    failed = [c for c in cells if c["status"] in ("crashed", "timeout")]
    for cell in cells:
        print(json.dumps(cell, sort_keys=True) if args.json else _line(cell))
    if args.report_dir is not None:
        stem = args.report_stem
        outputs = (
            (".json", accuracy_json(cells)),
            (".md", accuracy_markdown(cells)),
            (".html", accuracy_html(cells)),
        )
        for suffix, text in outputs:
            path = args.report_dir / f"{stem}{suffix}"
            atomic_write_text(path, text)
            print(f"wrote {path}", file=sys.stderr)
    if baseline is not None:
        from conformance.gate.sweep_gate import gate_sweep

        verdict = gate_sweep(cells, baseline)
        print(verdict.render(), end="", file=sys.stderr if args.json else sys.stdout)
        return max(verdict.exit_code, 1 if failed else 0)
    return 1 if failed else 0


def _task_function(timeout):
    import functools

    from conformance.hunt.sweep import run_task

    return functools.partial(run_task, timeout_s=timeout)


def _writable(folder: Path, usage_error) -> None:
    from conformance.report.report_files import unwritable_folder

    problem = unwritable_folder(folder)
    if problem is not None:
        usage_error(f"--report-dir: {problem}")
