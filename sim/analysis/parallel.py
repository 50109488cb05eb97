"""Run independent tasks (replications, sweep points) on local processes, in a fixed order.

Results come back in task order whatever the number of workers, and every task seeds itself
from its own arguments, so 1 worker and N workers give identical output.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from sim.analysis.worker_guard import host_arguments, watch_host

T = TypeVar("T")


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def show_progress(enabled: bool | None) -> bool:
    """Progress bars go to stderr, and only when it is a terminal (never onto --json stdout)."""
    if enabled is not None:
        return enabled
    return sys.stderr.isatty()


def _context():
    """``fork`` from a single-threaded program (the CLI): cheapest. A threaded host (the app's
    server, a Dask worker) forks from a clean single-threaded ``forkserver`` instead, because
    forking a multi-threaded process can deadlock."""
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.analysis.runner"])
    return context


_SHARED_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> tuple[ProcessPoolExecutor, bool]:
    """A pool for this call; in a threaded host (the app) one long-lived pool per size is reused,
    so each run does not pay for starting processes."""
    if threading.active_count() == 1 or not sys.platform.startswith("linux"):
        return _new_pool(workers), False
    pool = _SHARED_POOLS.get(workers)
    if pool is None:
        pool = _SHARED_POOLS[workers] = _new_pool(workers)
    return pool, True


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # every worker ends when its host does: no orphaned processes after the host is killed
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=watch_host, initargs=host_arguments()
    )


def _call_chunk(fn: Callable[..., T], chunk: Sequence[tuple]) -> list[T]:
    return [fn(*args) for args in chunk]


def run_tasks(
    fn: Callable[..., T],
    tasks: Sequence[tuple],
    *,
    workers: int | None = None,
    progress: str | None = None,
    show: bool | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> list[T]:
    """``[fn(*task) for task in tasks]``, possibly on ``workers`` processes; order preserved.

    ``progress`` is a label for a rich progress bar on stderr; ``callback(done, total)`` is
    called as tasks finish (the app uses it for ``st.progress``).
    """
    total = len(tasks)
    # never more processes than cores: more cannot go faster and each costs a model's memory
    workers = default_workers() if workers is None else max(1, min(int(workers), default_workers()))
    workers = min(workers, total) if total else 1
    if multiprocessing.parent_process() is not None or getattr(
        multiprocessing.current_process(), "_inheriting", False
    ):
        # already a worker, or a child still importing its host's main module (a script without a
        # ``__main__`` guard): never start a pool of pools, each worker would start its own
        workers = 1
    bar = _Progress(progress, total) if progress and show_progress(show) else None
    try:
        if workers <= 1:
            out = []
            for i, args in enumerate(tasks):
                out.append(fn(*args))
                _tick(bar, callback, i + 1, total)
            return out
        # a few chunks per worker: coarse enough to amortise process overhead, fine enough to balance
        n_chunks = min(total, workers * 4)
        bounds = [round(k * total / n_chunks) for k in range(n_chunks + 1)]
        chunks = [tasks[bounds[k] : bounds[k + 1]] for k in range(n_chunks)]
        results: list[list[T] | None] = [None] * n_chunks
        done = 0
        pool, shared = _pool(workers)
        try:
            futures = {pool.submit(_call_chunk, fn, chunk): k for k, chunk in enumerate(chunks)}
            for fut in as_completed(futures):
                k = futures[fut]
                results[k] = fut.result()
                done += len(chunks[k])
                _tick(bar, callback, done, total)
        except BrokenProcessPool:
            _SHARED_POOLS.pop(workers, None)
            raise
        finally:
            if not shared:
                pool.shutdown()
        return [item for chunk in results for item in chunk]  # type: ignore[union-attr]
    finally:
        if bar is not None:
            bar.close()


def _tick(bar: _Progress | None, callback, done: int, total: int) -> None:
    if bar is not None:
        bar.update(done)
    if callback is not None:
        callback(done, total)


class _Progress:
    def __init__(self, label: str, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True, markup=False, emoji=False),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def update(self, done: int) -> None:
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        self._progress.stop()
