"""Running sweeps: every task of every plan through one executor, with a checkpoint and progress.

``run_sweeps(plans, executor, ...)`` gives one list of CellResults per plan. The tasks of all plans
go to the executor together (so the workers stay busy across cells); results found in the
checkpoint are taken as they are (a chunk on which a backend crashed or timed out is not kept: it
runs again). The merged numbers do not depend on the executor, the number of
workers or the order of completion (conformance.hunt.sweep).
"""

from __future__ import annotations

import sys
import time
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


class Progress:
    """``sweep: 12/40 chunks (30%), 1.2e+06 inputs, ETA 0:03:10`` on stderr: a tqdm bar on a
    terminal (conformance.hunt.progress), else a line at most every 10 % (or 60 s)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total, self.done, self.inputs = total, 0, 0
        self.enabled = enabled and total > 0
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self._last_line = (-1.0, 0.0)
        self._bar = ProgressBar(total, "sweep", "chunks") if self.enabled and self.tty else None

    def advance(self, inputs: int, computed: bool) -> None:
        self.done += 1
        self.inputs += inputs
        if not self.enabled:
            return
        if self._bar is not None and self._bar._bar is not None:  # tqdm draws it
            self._bar.advance()
            if self.done == self.total:
                self._bar.close()
            return
        now = time.monotonic()
        share = self.done / self.total
        eta = (now - self.start) / share * (1 - share) if computed and share > 0 else 0.0
        text = (
            f"sweep: {self.done}/{self.total} chunks ({share:.0%}), {self.inputs:.3g} inputs, "
            f"ETA {int(eta) // 3600}:{int(eta) % 3600 // 60:02d}:{int(eta) % 60:02d}"
        )
        if self.tty:
            sys.stderr.write("\r\033[K" + text + ("\n" if self.done == self.total else ""))
        elif (
            share - self._last_line[0] >= 0.1 or now - self._last_line[1] >= 60
        ) or self.done == self.total:
            sys.stderr.write(text + "\n")
            self._last_line = (share, now)
        sys.stderr.flush()


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
    bar = Progress(sum(len(s.tasks) for s in sweeps), progress)
    for i, s in enumerate(sweeps):
        plan_data = s.plan.to_json()
        for j, task in enumerate(s.tasks):
            found = checkpoint.get(s.plan.key(task))
            if found is not None and found.get("task") == list(task):
                results[i][j] = found
                bar.advance(found.get("count", 0), computed=False)
            else:
                todo.append((i, j))
                arguments.append((plan_data, list(task)))
    for k, result in executor.map(task_function, arguments):
        i, j = todo[k]
        results[i][j] = result
        if not _transient(result):  # a crash or hang is tried again when the sweep resumes
            checkpoint.put(sweeps[i].plan.key(sweeps[i].tasks[j]), result)
        bar.advance(result.get("count", 0), computed=True)
    return [
        cells_of(s.plan, [r for r in results[i] if r is not None], s.exhaustive)
        for i, s in enumerate(sweeps)
    ]
