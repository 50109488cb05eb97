"""``python -m sim bench``: throughput of the model, measured against a bare SimPy queue in the same run.

Absolute speeds vary between machines and with load; the ratio to a bare SimPy M/M/1 queue
(one ``Resource``, exponential arrivals and service) measured moments apart does not, much.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from sim.analysis.runner import replicate
from sim.metrics.scoring import score_columns
from sim.model.catalog import shipped_path
from sim.model.delivery import simulate
from sim.model.records import stage_totals, to_columns, window_bounds, window_rows
from sim.model.scenario import Scenario, load_scenario

SHIPPED = ("baseline", "trunk_based", "automated", "small_batch", "elite", "heroics")


def mm1_customers_per_second(customers: int = 40_000, seed: int = 0) -> float:
    """A bare SimPy M/M/1 queue at utilisation 0.9: customers served per second of wall time."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / 0.9, customers).tolist()
    services = rng.exponential(1.0, customers).tolist()
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)

    def customer(service: float):
        with server.request() as req:
            yield req
            yield env.timeout(service)

    def source():
        for gap, service in zip(gaps, services):
            yield env.timeout(gap)
            env.process(customer(service))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    return customers / (time.perf_counter() - t0)


def _best_of(repeats: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def scenario_throughput(scenario: Scenario, reps: int = 4) -> dict[str, float]:
    """Simulated changes per second for the model alone and with logging + scoring."""
    changes = 0
    t_model = t_total = 0.0
    for k in range(reps):
        t0 = time.perf_counter()
        records = simulate(scenario, scenario.seed, k)
        t1 = time.perf_counter()
        rows = window_rows(records)
        start, end = window_bounds(records)
        score_columns(to_columns(records, rows), start=start, end=end)
        stage_totals(records, rows.deployed_in)
        t2 = time.perf_counter()
        changes += len(records.created)
        t_model += t1 - t0
        t_total += t2 - t0
    return {"changes": changes, "model_changes_per_second": changes / t_model,
            "end_to_end_changes_per_second": changes / t_total}


def scaling(base: Scenario) -> dict[str, float]:
    """Wall time for 4x the work (2x engineers x 2x days) relative to 1x."""
    big = base.with_values({"team.engineers": base.team.engineers * 2, "days": base.days * 2,
                            "simulation.warmup_days": base.simulation.warmup_days * 2})
    t1 = _best_of(3, lambda: simulate(base, base.seed, 0))
    t4 = _best_of(3, lambda: simulate(big, big.seed, 0))
    return {"time_1x_s": t1, "time_4x_s": t4, "ratio": t4 / t1}


def worker_speedup(base: Scenario, reps: int = 40) -> dict[str, float]:
    t1 = _best_of(1, lambda: replicate(base, reps, workers=1))
    t2 = _best_of(1, lambda: replicate(base, reps, workers=2))
    return {"reps": reps, "time_1_worker_s": t1, "time_2_workers_s": t2, "speedup": t1 / t2}


def run_bench(*, sweep: bool = True, log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    log("bare SimPy M/M/1 queue")
    mm1_before = mm1_customers_per_second()
    scenarios = {}
    total_changes = 0
    total_model_time = 0.0
    for name in SHIPPED:
        log(f"scenario {name}")
        sc = load_scenario(shipped_path(name))
        row = scenario_throughput(sc)
        scenarios[name] = row
        total_changes += row["changes"]
        total_model_time += row["changes"] / row["model_changes_per_second"]
    mm1_after = mm1_customers_per_second()
    mm1 = (mm1_before + mm1_after) / 2
    model_rate = total_changes / total_model_time
    for row in scenarios.values():
        row["ratio_to_mm1"] = row["model_changes_per_second"] / mm1
    baseline = load_scenario(shipped_path("baseline"))
    log("scaling 1x vs 4x work")
    scale = scaling(baseline)
    log("workers 1 vs 2 on 40 replications")
    workers = worker_speedup(baseline)
    log("scoring 1,000,000 changes and 100,000 deployments")
    from sim.bench.scoring import bench_scoring

    scoring = bench_scoring()
    out: dict[str, Any] = {
        "mm1_customers_per_second": mm1,
        "model_changes_per_second": model_rate,
        "ratio_to_mm1": model_rate / mm1,
        "scenarios": scenarios,
        "scaling_4x": scale,
        "workers": workers,
        "scoring": scoring,
    }
    if sweep:
        try:
            from sim.bench.sweep import bench_sweep
        except ModuleNotFoundError:  # pragma: no cover - sweeps not installed
            pass
        else:
            log("sweep throughput: single process, local processes, Dask LocalCluster")
            out["sweep"] = bench_sweep()
    return out
