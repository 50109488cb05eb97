"""Everything ``python -m sim bench`` measures, in one process, as one JSON-ready dictionary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim.bench.memory import memory_per_change
from sim.bench.throughput import mm1_customers_per_second, org_scale, scenario_throughput, worker_speedup
from sim.model.catalog import shipped, shipped_path
from sim.model.scenario import load_scenario


def run_bench(
    *, sweep: bool = True, memory: bool = True, log: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    log("bare SimPy M/M/1 queue")
    mm1_runs = [mm1_customers_per_second()]
    scenarios: dict[str, dict[str, float]] = {}
    for name in shipped("scenario"):
        log(f"scenario {name}")
        scenarios[name] = scenario_throughput(load_scenario(shipped_path(name)))
        mm1_runs.append(mm1_customers_per_second())
    mm1 = float(np.median(mm1_runs))
    total_changes = sum(row["changes"] for row in scenarios.values())
    model_time = sum(row["changes"] / row["model_changes_per_second"] for row in scenarios.values())
    for row in scenarios.values():
        row["ratio_to_mm1"] = row["model_changes_per_second"] / mm1
        row["end_to_end_ratio_to_mm1"] = row["end_to_end_changes_per_second"] / mm1
    log("organisation scale: elite with 10, 200 and 1,000 engineers")
    org = org_scale()
    log("workers 1 vs 2")
    workers = worker_speedup()
    log("scoring 1,000,000 changes and 100,000 deployments")
    from sim.bench.scoring import bench_scoring

    out: dict[str, Any] = {
        "mm1_customers_per_second": mm1,
        "mm1_runs": mm1_runs,
        "model_changes_per_second": total_changes / model_time,
        "ratio_to_mm1": total_changes / model_time / mm1,
        "slowest_end_to_end_ratio": min(row["end_to_end_ratio_to_mm1"] for row in scenarios.values()),
        "scenarios": scenarios,
        "org_scale": org,
        "workers": workers,
        "scoring": bench_scoring(),
    }
    if memory:
        log("memory: 500 engineers in 50 teams over 365 days")
        out["memory"] = memory_per_change()
    if sweep:
        try:
            from sim.bench.sweep import bench_sweep
        except ModuleNotFoundError:  # pragma: no cover - sweeps not installed
            pass
        else:
            log("sweep throughput: single process, local processes, Dask LocalCluster")
            out["sweep"] = bench_sweep()
    return out
