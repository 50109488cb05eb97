"""Throughput of the model against a bare SimPy M/M/1 queue, per shipped scenario, by organisation size
and by worker count (used by ``python -m sim bench``; docs/performance.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import simpy

from sim.analysis.runner import replicate, run_replication
from sim.model.catalog import shipped_path
from sim.model.delivery import simulate
from sim.model.scenario import Scenario, load_scenario

MM1_CUSTOMERS = 40_000
ORG_SIZES = ((10, 1), (200, 20), (1000, 100))  # (engineers, teams) of elite, pools scaled with them


def mm1_customers_per_second(customers: int = MM1_CUSTOMERS, seed: int = 0) -> float:
    """A bare SimPy M/M/1 queue at utilisation 0.9: customers served per CPU-second."""
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
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(service))

    env.process(source())
    t0 = time.process_time()
    env.run()
    return customers / (time.process_time() - t0)


def _cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def scenario_throughput(scenario: Scenario, reps: int = 6) -> dict[str, float]:
    """Simulated changes per CPU-second, the model alone and end to end, after one warm-up replication."""
    run_replication(scenario, scenario.seed, 0)
    model_time = total_time = 0.0
    changes = 0
    for k in range(1, reps + 1):
        spent, records = _cpu(partial(simulate, scenario, scenario.seed, k))
        model_time += spent
        changes += len(records.changes)
        del records
        spent, _ = _cpu(partial(run_replication, scenario, scenario.seed, k))
        total_time += spent
    return {
        "changes": changes,
        "model_changes_per_second": changes / model_time,
        "end_to_end_changes_per_second": changes / total_time,
    }


def org_scale(reps_small: int = 8) -> dict[str, Any]:
    """End-to-end CPU cost per change of elite organisations, relative to one team of 10 engineers."""
    rows = []
    for engineers, teams in ORG_SIZES:
        factor = engineers // 10
        scenario = load_scenario(
            shipped_path("elite"),
            [
                f"team.engineers={engineers}",
                f"org.teams={teams}",
                f"ci.runners={8 * factor}",
                f"operations.experts={factor}",
            ],
        )
        reps = max(2, reps_small // factor)
        run_replication(scenario, scenario.seed, 0)
        spent, changes = 0.0, 0
        for k in range(1, reps + 1):
            seconds, result = _cpu(partial(run_replication, scenario, scenario.seed, k))
            spent += seconds
            changes += result.simulated_changes
        rows.append(
            {
                "engineers": engineers,
                "teams": teams,
                "runners": 8 * factor,
                "experts": factor,
                "replications": reps,
                "changes": changes,
                "microseconds_per_change": spent / changes * 1e6,
            }
        )
    base = rows[0]["microseconds_per_change"]
    for row in rows:
        row["cost_ratio"] = row["microseconds_per_change"] / base
    return {"rows": rows, "ratio_200": rows[1]["cost_ratio"], "ratio_1000": rows[2]["cost_ratio"]}


def worker_speedup(reps: int = 96) -> dict[str, float]:
    """Wall time of ``reps`` elite replications on one process and on two."""
    scenario = load_scenario(shipped_path("elite"))
    t0 = time.perf_counter()
    replicate(scenario, reps, workers=1)
    t1 = time.perf_counter()
    replicate(scenario, reps, workers=2)
    t2 = time.perf_counter()
    return {
        "reps": reps,
        "time_1_worker_s": t1 - t0,
        "time_2_workers_s": t2 - t1,
        "speedup": (t1 - t0) / (t2 - t1),
    }
