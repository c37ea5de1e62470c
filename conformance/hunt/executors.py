"""Where the chunks of a sweep run: this process, local processes, or a Dask cluster.

Every executor has one method, ``map(function, arguments) -> iterator of (index, result)``,
yielding each task's result as it completes (in any order; the sweep merges exactly, so the order
does not change its numbers). ``function`` is a module-level function and its arguments and
results are plain JSON-able data, so that any executor can ship them:

* ``InlineExecutor``: one after the other, in this process (``--workers 1``);
* ``LocalExecutor(n)``: ``n`` worker processes (``spawn``: a framework loaded here is never
  forked);
* ``DaskExecutor(address)``: a Dask ``distributed`` cluster. ``address`` is a scheduler's
  (``tcp://host:8786``; ``DASK_SCHEDULER_ADDRESS`` is read when no ``--scheduler`` is given), or
  ``local`` for a ``LocalCluster`` of ``workers`` processes on this machine. The workers need
  this package and the backends installed; a worker may run tasks in several threads (each
  thread keeps its own backend worker processes). Dask is the ``[dask]`` extra.

``Checkpoint(folder)`` keeps each finished task's result as ``<key>.json`` (written atomically):
a sweep run again with the same folder takes the tasks found there and runs only the others,
so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

Result = Any


class ExecutorError(RuntimeError):
    """An executor could not be set up (e.g. no Dask, or no scheduler at the address)."""


class InlineExecutor:
    name = "inline"

    def map(self, function: Callable, arguments: Sequence[tuple]) -> Iterator[tuple[int, Result]]:
        for i, args in enumerate(arguments):
            yield i, function(*args)

    def close(self) -> None:
        pass


# One core per worker: the frameworks' own thread pools (torch, paddle: OpenMP) would otherwise
# make every worker and its backend processes fight for all cores. Elementwise results do not
# depend on the thread count; a value the user has set is kept.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class LocalExecutor:
    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.name = f"{workers} local processes"
        saved = {k: os.environ.get(k) for k in SINGLE_THREADED}
        for key, value in SINGLE_THREADED.items():
            os.environ.setdefault(key, value)  # inherited by the spawned workers
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_single_threaded,
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def map(self, function: Callable, arguments: Sequence[tuple]) -> Iterator[tuple[int, Result]]:
        from concurrent.futures import as_completed

        futures = {self._pool.submit(function, *args): i for i, args in enumerate(arguments)}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class DaskExecutor:
    def __init__(self, address: str, workers: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError(
                "--scheduler needs Dask: pip install 'bce-conformance[dask]'"
            ) from None
        self._cluster = None
        try:
            if address == "local":
                self._cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None,
                )  # fmt: skip
                self._client = Client(self._cluster)
                self.name = f"a Dask LocalCluster of {workers} workers"
            else:
                self._client = Client(address, timeout="10s")
                self.name = f"the Dask scheduler at {address}"
        except (OSError, TimeoutError, ValueError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise ExecutorError(f"cannot reach a Dask scheduler at {address}: {exc}") from None

    def map(self, function: Callable, arguments: Sequence[tuple]) -> Iterator[tuple[int, Result]]:
        from distributed import as_completed

        futures = [self._client.submit(function, *args, pure=False) for args in arguments]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            yield index[future.key], future.result()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _single_threaded() -> None:
    """Worker initializer: keep the single-threaded settings for the worker's own backend
    processes (spawned later, from this environment)."""
    for key, value in SINGLE_THREADED.items():
        os.environ.setdefault(key, value)


def make_executor(
    workers: int, scheduler: str | None
) -> InlineExecutor | LocalExecutor | DaskExecutor:
    """The executor a sweep asked for (module docstring)."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if scheduler:
        return DaskExecutor(scheduler, workers)
    if workers <= 1:
        return InlineExecutor()
    return LocalExecutor(workers)


class Checkpoint:
    """Finished task results kept in a folder (module docstring)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> Result | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            return json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None  # absent, or cut short: the task runs again

    def put(self, key: str, result: Result) -> None:
        if self.folder is None:
            return
        from conformance.report.report_files import atomic_write_text

        atomic_write_text(self.folder / f"{key}.json", json.dumps(result, sort_keys=True))
