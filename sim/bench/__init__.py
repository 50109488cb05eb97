"""``python -m sim bench``: the model's speed and memory, measured against a bare SimPy queue in the same run.

Absolute speeds vary between machines and with load; the ratio to a bare SimPy M/M/1 queue (one
``Resource``, exponential arrivals λ = 0.9 and service μ = 1) measured moments apart does not,
much. Throughputs are per second of this process's CPU time (``time.process_time``), so other work
on the machine changes them less than it would wall time; the worker speed-up is wall time by
nature.

What it measures (each a target in docs/performance.md):

- per shipped scenario, simulated changes per CPU-second of the model alone (``simulate``) and end
  to end (simulate, build the scorer's columns, score, judge stability, sum the lead-time stages:
  one replication of ``run``), over replications run one after another after a warm-up one — the
  marginal cost of a replication with one worker — and their ratios to the M/M/1 queue;
- organisation scale: the end-to-end cost per change of ``elite`` with 200 engineers in 20 teams
  and 1,000 in 100 teams, against 10 engineers in one team (the shared CI pool and experts grow
  with the organisation, so the work per change is the same);
- memory: peak resident memory a replication adds, per simulated change, for 500 engineers in 50
  teams over 365 days (in a fresh process, so the figure is not polluted by earlier work);
- the scorer's rows per second, and ``--workers 2`` against ``--workers 1``;
- optionally, sweep point-replications per second on local processes and a Dask cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import simpy

from sim.analysis.runner import replicate, run_replication
from sim.model.catalog import shipped, shipped_path
from sim.model.delivery import simulate
from sim.model.scenario import Scenario, load_scenario

MM1_CUSTOMERS = 40_000
ORG_SIZES = ((10, 1), (200, 20), (1000, 100))  # (engineers, teams) of elite, pools scaled with them
MEMORY_ORG = ["team.engineers=500", "org.teams=50", "days=365", "ci.runners=400", "operations.experts=50"]


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
    return {"changes": changes, "model_changes_per_second": changes / model_time,
            "end_to_end_changes_per_second": changes / total_time}


def org_scale(reps_small: int = 8) -> dict[str, Any]:
    """End-to-end CPU cost per change of elite organisations, relative to one team of 10 engineers."""
    rows = []
    for engineers, teams in ORG_SIZES:
        factor = engineers // 10
        scenario = load_scenario(shipped_path("elite"), [
            f"team.engineers={engineers}", f"org.teams={teams}", f"ci.runners={8 * factor}",
            f"operations.experts={factor}"])
        reps = max(2, reps_small // factor)
        run_replication(scenario, scenario.seed, 0)
        spent, changes = 0.0, 0
        for k in range(1, reps + 1):
            seconds, result = _cpu(partial(run_replication, scenario, scenario.seed, k))
            spent += seconds
            changes += result.simulated_changes
        rows.append({"engineers": engineers, "teams": teams, "runners": 8 * factor, "experts": factor,
                     "replications": reps, "changes": changes, "microseconds_per_change": spent / changes * 1e6})
    base = rows[0]["microseconds_per_change"]
    for row in rows:
        row["cost_ratio"] = row["microseconds_per_change"] / base
    return {"rows": rows, "ratio_200": rows[1]["cost_ratio"], "ratio_1000": rows[2]["cost_ratio"]}


_MEMORY_PROBE = """
import gc, json, sys
from sim.analysis.runner import run_replication
from sim.model.catalog import shipped_path
from sim.model.scenario import load_scenario
scenario = load_scenario(shipped_path("elite"), sys.argv[1:])
run_replication(scenario.with_values({"days": 3, "simulation.warmup_days": 1}), 1, 0)  # imports and code paths
gc.collect()
def status(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1])
with open("/proc/self/clear_refs", "w") as refs:  # the peak so far (and any inherited one) starts again here
    refs.write("5")
before = status("VmRSS")
result = run_replication(scenario, 1, 0)
print(json.dumps({"before_kb": before, "peak_kb": status("VmHWM"), "changes": result.simulated_changes}))
"""


def memory_per_change() -> dict[str, Any]:
    """Peak resident memory one replication adds, per simulated change (a fresh process; Linux)."""
    if not sys.platform.startswith("linux"):
        return {}
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, *MEMORY_ORG], capture_output=True, text=True,
                          check=True)
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    growth = (probe["peak_kb"] - probe["before_kb"]) * 1024
    changes = probe["changes"]
    return {"scenario": "elite, " + ", ".join(MEMORY_ORG), "changes": changes,
            "peak_rss_growth_bytes": growth, "bytes_per_change": growth / changes}


def worker_speedup(reps: int = 96) -> dict[str, float]:
    """Wall time of ``reps`` elite replications on one process and on two."""
    scenario = load_scenario(shipped_path("elite"))
    t0 = time.perf_counter()
    replicate(scenario, reps, workers=1)
    t1 = time.perf_counter()
    replicate(scenario, reps, workers=2)
    t2 = time.perf_counter()
    return {"reps": reps, "time_1_worker_s": t1 - t0, "time_2_workers_s": t2 - t1, "speedup": (t1 - t0) / (t2 - t1)}


def run_bench(*, sweep: bool = True, memory: bool = True,
              log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
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
