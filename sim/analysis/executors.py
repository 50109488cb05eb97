"""Where sweep points run: local processes (``sim.analysis.parallel.run_tasks``) or a Dask ``distributed`` cluster.

Both executors run the same coarse tasks (one task = one point with all its replications, sent in
chunks of points, a few chunks per worker) and return results in task order; every task seeds itself from its own arguments, so the executor and
the number of workers never change a number. ``sink(done)`` receives ``[(task index, result)]``
as work completes so that the caller can checkpoint (the sweep writes its table for resuming).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sim.analysis.fingerprint import model_digest
from sim.analysis.parallel import default_workers, run_tasks, show_progress
from sim.errors import InputError

EXECUTORS = ("local", "dask")
LOCAL_CLUSTER_WORKERS = 2
CONNECT_TIMEOUT = "10s"  # how long to keep trying a --scheduler address
CHECKPOINT_SECONDS = 5.0  # a Dask sweep writes what it has at most this often
CHUNKS_PER_THREAD = 4  # as run_tasks: coarse enough to amortise overhead, fine enough to balance

Sink = Callable[[list[tuple[int, Any]]], Any]
Tick = Callable[[int, int], Any]


def check_executor(executor: str, scheduler: str | None) -> str:
    if executor not in EXECUTORS:
        raise InputError(f"--executor {executor!r}: must be one of {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise InputError(f"--scheduler {scheduler}: only with --executor dask")
    return executor


def execute(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    executor: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    sink: Sink | None = None,
    progress: str | None = None,
    callback: Tick | None = None,
) -> list[Any]:
    """``[fn(*task) for task in tasks]`` on the chosen executor, in task order."""
    check_executor(executor, scheduler)
    if not tasks:
        return []
    with _progress_bar(progress, len(tasks)) as bar:

        def tick(done: int, total: int) -> None:
            bar(done)
            if callback is not None:
                callback(done, total)

        if executor == "local":
            return run_local(fn, tasks, workers=workers, sink=sink, tick=tick)
        with dask_client(scheduler, workers) as client:
            return run_on_dask(client, fn, tasks, sink=sink, tick=tick)


# ----------------------------------------------------------------------------------------------
# local processes


def run_local(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    workers: int | None = None,
    sink: Sink | None = None,
    tick: Tick | None = None,
) -> list[Any]:
    """Local processes through ``run_tasks``; with a ``sink``, in batches so that each batch can be saved."""
    total = len(tasks)
    workers = default_workers() if workers is None else max(1, int(workers))
    # one batch when nobody needs checkpoints; else ~10 batches, each big enough to keep every worker busy
    size = total if sink is None else max(workers * 8, math.ceil(total / 10))
    results: list[Any] = []
    for start in range(0, total, size):
        batch = tasks[start : start + size]
        out = run_tasks(fn, batch, workers=workers, callback=_shifted(tick, start, total) if tick else None)
        results.extend(out)
        if sink is not None:
            sink([(start + i, r) for i, r in enumerate(out)])
    return results


def _shifted(tick: Tick, offset: int, total: int) -> Tick:
    """A batch's ``callback(done, batch size)`` as the whole run's ``tick(offset + done, total)``."""
    return lambda done, _n: tick(offset + done, total)


# ----------------------------------------------------------------------------------------------
# Dask


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a loopback ``LocalCluster`` started for the run."""
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(
                    f"--scheduler {scheduler}: cannot connect to a Dask scheduler ({exc})"
                ) from None
        else:
            # Dask's statistical profiler samples every worker's stack each 10 ms: on the pure-Python
            # simulation that costs about a third more CPU, so the cluster started here runs without it
            with warnings.catch_warnings(), dask.config.set({"distributed.worker.profile.enabled": False}):
                # its small status server takes another loopback port when a cluster already holds 8787
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                cluster = LocalCluster(
                    n_workers=workers or LOCAL_CLUSTER_WORKERS,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            client = Client(cluster)
        try:
            _check_workers(client, scheduler)
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _worker_model() -> str:
    # importing the sweep module warms the worker up: the model's imports are paid before any task
    import sim.analysis.sweep  # noqa: F401

    return model_digest()


def _check_workers(client: Any, scheduler: str | None) -> None:
    import sim

    where = f"--scheduler {scheduler}" if scheduler else "Dask LocalCluster"
    client.wait_for_workers(1, timeout=60)
    try:
        digests = client.run(_worker_model)
    except (ImportError, ModuleNotFoundError) as exc:
        raise InputError(
            f"{where}: a worker cannot import the simulator ({exc}); "
            f"install dorasim {sim.__version__} on every worker"
        ) from None
    if any(d != model_digest() for d in digests.values()):
        raise InputError(
            f"{where}: some workers run another build of the simulator than this client "
            f"(dorasim {sim.__version__}); install the same one everywhere so results match"
        )


def run_on_dask(
    client: Any,
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    sink: Sink | None = None,
    tick: Tick | None = None,
) -> list[Any]:
    """Submit the tasks in chunks, a few per worker thread, and gather them in task order.

    Each Dask task costs ~10 ms of scheduler and worker time; a chunk of points makes that
    negligible next to the simulation, as ``run_tasks`` does for local processes.
    """
    from distributed import as_completed

    total = len(tasks)
    threads = sum(client.nthreads().values()) or 1
    n_chunks = min(total, threads * CHUNKS_PER_THREAD)
    bounds = [round(k * total / n_chunks) for k in range(n_chunks + 1)]
    futures = [
        client.submit(run_chunk, fn, tasks[bounds[k] : bounds[k + 1]], pure=False) for k in range(n_chunks)
    ]
    chunk_of = {future.key: k for k, future in enumerate(futures)}
    results: list[Any] = [None] * total
    pending: list[tuple[int, Any]] = []
    done, last_save = 0, time.monotonic()
    try:
        # with_results: results stream back in the background instead of one round trip per future
        for future, chunk_results in as_completed(futures, with_results=True):
            start = bounds[chunk_of[future.key]]
            for offset, result in enumerate(chunk_results):
                results[start + offset] = result
                pending.append((start + offset, result))
            done += len(chunk_results)
            if tick is not None:
                tick(done, total)
            if sink is not None and (done == total or time.monotonic() - last_save >= CHECKPOINT_SECONDS):
                sink(pending)
                pending, last_save = [], time.monotonic()
    finally:
        if sink is not None and pending:  # interrupted: keep what finished since the last checkpoint
            sink(pending)
        client.cancel([f for f in futures if not f.done()])
    return results


def run_chunk(fn: Callable[..., Any], chunk: Sequence[tuple]) -> list[Any]:
    return [fn(*task) for task in chunk]


# ----------------------------------------------------------------------------------------------
# progress


@contextmanager
def _progress_bar(label: str | None, total: int) -> Iterator[Callable[[int], None]]:
    """A rich bar on stderr when ``label`` is given and stderr is a terminal; else a no-op."""
    if not label or not show_progress(None):
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)
