"""Benchmark of sweep executors (used by ``python -m sim bench``): point-replications per second.

The same sweep points (a Latin hypercube over four levers, short horizon) run three ways — in this
process, on local processes, and on a Dask ``LocalCluster`` — and must give identical results.
The Dask cluster's start-up (processes, imports) is timed separately: it is paid once per sweep,
while the throughput shows what distribution costs per task.
"""

from __future__ import annotations

import time
from typing import Any

from sim.scenario import Scenario
from sim.sweep import run_point, sweep_from_dict
from sim.sweep_exec import dask_client, run_local, run_on_dask

BENCH_VARY = {
    "ci.runners": {"low": 1, "high": 8},
    "ci.test_suite_minutes": {"low": 10, "high": 120},
    "release.cadence": ["weekly", "daily", "continuous"],
    "release.deploy": ["manual", "automated"],
}


def bench_sweep(points: int = 50, reps: int = 4, days: int = 30, workers: int = 2, seed: int = 1,
                rounds: int = 2) -> dict[str, Any]:
    """Point-replications per second: single process, ``workers`` local processes, Dask LocalCluster."""
    base = Scenario(name="bench", days=days)
    spec = sweep_from_dict({"design": "lhs", "points": points, "reps": reps, "seed": seed, "sensitivity": "none",
                            "vary": BENCH_VARY}, source="bench", base=base)
    tasks = [(spec.scenario_at(values), spec.seed, spec.reps, spec.benchmark) for values in spec.design_values()]
    total = len(tasks) * reps

    started = time.perf_counter()
    single = [run_point(*task) for task in tasks]
    single_s = time.perf_counter() - started

    # the machine may be shared: keep each executor's best round. Local processes fork, so they run
    # before the Dask client starts its threads.
    local_s = dask_s = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        local = run_local(run_point, tasks, workers=workers)
        local_s = min(local_s, time.perf_counter() - started)
    started = time.perf_counter()
    with dask_client(None, workers) as client:
        startup_s = time.perf_counter() - started
        for _ in range(rounds):
            started = time.perf_counter()
            distributed = run_on_dask(client, run_point, tasks)
            dask_s = min(dask_s, time.perf_counter() - started)

    local_rate, dask_rate = total / local_s, total / dask_s
    return {
        "points": len(tasks),
        "reps": reps,
        "days": days,
        "point_replications": total,
        "workers": workers,
        "single_process_per_second": total / single_s,
        "local_processes_per_second": local_rate,
        "dask_local_cluster_per_second": dask_rate,
        "dask_vs_local": dask_rate / local_rate,
        "dask_startup_seconds": startup_s,
        "rounds": rounds,
        "identical": single == local == distributed,
    }


if __name__ == "__main__":  # pragma: no cover - a manual check
    import json

    print(json.dumps(bench_sweep(), indent=2))
