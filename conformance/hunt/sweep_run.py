"""Running sweeps: every task of every plan through one executor, with a checkpoint and progress.

``run_sweeps(plans, executor, ...)`` gives one list of CellResults per plan. The tasks of all plans
go to the executor together (so the workers stay busy across cells); results found in the
checkpoint are taken as they are (a chunk on which a backend crashed or timed out is not kept: it
runs again). The merged numbers do not depend on the executor, the number of
workers or the order of completion (conformance.hunt.sweep).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.hunt.executors import Checkpoint
from conformance.hunt.progress import ProgressBar
from conformance.hunt.sweep import CellResult, SweepPlan, cells_of, run_task


@dataclass
class PlannedSweep:
    plan: SweepPlan
    tasks: list[tuple]
    exhaustive: bool


def _transient(result: dict) -> bool:
    return any(c.get("status") in ("crashed", "timeout") for c in result["cells"].values())


def run_sweeps(
    sweeps: list[PlannedSweep],
    executor,
    checkpoint: Checkpoint | None = None,
    progress: bool = True,
    task_function: Callable = run_task,
) -> list[list[CellResult]]:
    """The CellResults of every planned sweep (module docstring)."""
    checkpoint = checkpoint or Checkpoint(None)
    results: list[list[dict | None]] = [[None] * len(s.tasks) for s in sweeps]
    todo: list[tuple[int, int]] = []
    arguments: list[tuple] = []
    bar = ProgressBar(sum(len(s.tasks) for s in sweeps), "sweep", "chunks", enabled=progress)
    inputs = 0
    for i, s in enumerate(sweeps):
        plan_data = s.plan.to_json()
        for j, task in enumerate(s.tasks):
            found = checkpoint.get(s.plan.key(task))
            if found is not None and found.get("task") == list(task):
                results[i][j] = found
                inputs += found.get("count", 0)
                bar.advance(1, computed=False, note=f"{inputs:.3g} inputs")
            else:
                todo.append((i, j))
                arguments.append((plan_data, list(task)))
    for k, result in executor.map(task_function, arguments):
        i, j = todo[k]
        results[i][j] = result
        if not _transient(result):  # a crash or hang is tried again when the sweep resumes
            checkpoint.put(sweeps[i].plan.key(sweeps[i].tasks[j]), result)
        inputs += result.get("count", 0)
        bar.advance(1, computed=True, note=f"{inputs:.3g} inputs")
    bar.close()
    return [
        cells_of(s.plan, [r for r in results[i] if r is not None], s.exhaustive)
        for i, s in enumerate(sweeps)
    ]
