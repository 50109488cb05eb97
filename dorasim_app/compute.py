"""Cached calls into ``sim``. Keys are the scenario's JSON + seed + reps, so a baseline is simulated once
and reused by every comparison, view and session.

Progress bars are created inside the cached functions (Streamlit replays a cached function's elements,
and a finished bar is emptied), so a cache hit shows nothing and a slow run shows its progress.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from dorasim_app import limits
from sim.analysis.parallel import default_workers
from sim.analysis.runner import replicate, summarize
from sim.metrics.logs import EventLogs
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import Scenario

PROGRESS_AFTER_SECONDS = 0.4
PARALLEL_FROM_REPS = 8


def workers_for(reps: int) -> int:
    """Two processes pay off from a handful of replications; ``DORASIM_WORKERS`` overrides."""
    configured = os.environ.get("DORASIM_WORKERS")
    if configured:
        return max(1, int(configured))
    return 1 if reps < PARALLEL_FROM_REPS else min(2, default_workers())


class _LazyProgress:
    """A progress bar that appears only if the work is still running after a moment."""

    def __init__(self, label: str):
        self.label = label
        self.started = time.perf_counter()
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and time.perf_counter() - self.started < PROGRESS_AFTER_SECONDS:
            return
        if self.bar is None:
            self.bar = st.progress(0.0)
        self.bar.progress(done / max(total, 1), text=f"{self.label}: {done} of {total}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.empty()


def run_replications(scenario: Scenario, reps: int, seed: int, benchmark: str = "2023",
                     workers: int | None = None, callback: Callable[[int, int], Any] | None = None
                     ) -> dict[str, Any]:
    """The computation behind a Compare run: the run summary plus each replication's metrics."""
    workers = workers_for(reps) if workers is None else workers
    results = replicate(scenario, reps, seed, workers=workers, benchmark=benchmark, callback=callback)
    per_rep = [{"replication": r.replication, "overall": r.overall, **r.metrics,
                "changes": r.counts.get("changes", 0), "deployments": r.counts.get("deployments", 0)}
               for r in results]
    return {"summary": summarize(scenario, results, seed, benchmark), "replications": per_rep}


@st.cache_data(show_spinner=False, max_entries=128)
def cached_run(scenario_json: str, reps: int, seed: int, benchmark: str, label: str = "Simulating") -> dict:
    scenario = Scenario.model_validate_json(scenario_json)
    progress = _LazyProgress(f"{label} ({scenario.name})")
    try:
        return run_replications(scenario, reps, seed, benchmark, callback=progress)
    finally:
        progress.close()


def run(scenario: Scenario, reps: int, seed: int | None = None, benchmark: str = "2023",
        label: str = "Simulating") -> dict[str, Any]:
    seed = scenario.seed if seed is None else seed
    limits.check_reps(int(reps))
    limits.check_scenario(scenario, scenario.name)
    return cached_run(scenario.model_dump_json(), int(reps), int(seed), benchmark, label)


@st.cache_data(show_spinner="Simulating one replication…", max_entries=32)
def _one_replication(scenario_json: str, seed: int, replication: int) -> dict[str, Any]:
    scenario = Scenario.model_validate_json(scenario_json)
    logs = to_logs(simulate(scenario, seed, replication))
    return {"changes": logs.changes, "deployments": logs.deployments, "incidents": logs.incidents,
            "start": logs.start, "end": logs.end}


def one_replication(scenario: Scenario, seed: int, replication: int = 0) -> dict[str, Any]:
    """One replication's window logs (DataFrames) and window bounds."""
    limits.check_scenario(scenario, scenario.name)
    return _one_replication(scenario.model_dump_json(), int(seed), int(replication))


def event_logs(window: dict[str, Any]) -> EventLogs:
    return EventLogs(window["changes"], window["deployments"], window["incidents"])
