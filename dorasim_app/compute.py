"""Every call into ``sim`` the app makes, cached twice: in memory (``st.cache_data``, per server) and on
disk (:mod:`dorasim_app.store`, kept across restarts), keyed by the dorasim version, the model's
fingerprint, the scenario and the run settings.

A computation that is not stored shows a progress bar at once (a cold server or a new setting never
looks idle). The first page request also starts a background thread that warms the process pool and
stores the shipped scenarios' results at the default settings (:func:`start_warmup`), so the next
screens and a restarted server answer from the store.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import streamlit as st

from dorasim_app import limits, store
from sim.analysis.forecast import forecast, probability_curve
from sim.analysis.parallel import default_workers, run_tasks
from sim.analysis.runner import ReplicationResult, replicate, run_replication, summarize
from sim.metrics.logs import EventLogs
from sim.model.delivery import simulate
from sim.model.params import Phase
from sim.model.records import to_logs
from sim.model.scenario import Scenario

PARALLEL_FROM_REPS = 8
ESTIMATE_REPS = 4  # a first estimate: the first replications of the same run (same seeds), shown at once
_POOL_READY = threading.Event()


def workers_for(reps: int) -> int:
    """Two processes once the shared pool is up (starting it costs seconds); ``DORASIM_WORKERS`` overrides."""
    configured = os.environ.get("DORASIM_WORKERS")
    if configured:
        return max(1, int(configured))
    if reps < PARALLEL_FROM_REPS or not _POOL_READY.is_set():
        return 1
    return min(2, default_workers())


class Progress:
    """A progress bar shown from the start of a computation, emptied at its end."""

    def __init__(self, label: str):
        self.label = label
        self.bar = st.progress(0.0, text=f"{label}…")

    def __call__(self, done: int, total: int) -> None:
        self.bar.progress(done / max(total, 1), text=f"{self.label}: {done} of {total}")

    def close(self) -> None:
        self.bar.empty()


def _waiting(label: str) -> Callable[[], Any]:
    return lambda: st.spinner(f"{label} (already under way for another screen)…", show_time=True)


def _with_progress(
    label: str, work: Callable[[Callable[[int, int], Any] | None], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        progress = Progress(label)
        try:
            return work(progress)
        finally:
            progress.close()

    return run


# ----------------------------------------------------------------------------------------------
# Scenario runs (Compare, Learn, Forecast's companions)


_CHUNKS: OrderedDict[tuple[str, int, str, int, int], list[ReplicationResult]] = OrderedDict()
_CHUNKS_LOCK = threading.Lock()
MAX_CHUNKS = 256


def _replications(
    scenario_json: str,
    seed: int,
    benchmark: str,
    first: int,
    count: int,
    callback: Callable[[int, int], Any] | None = None,
) -> list[ReplicationResult]:
    """Replications ``first`` … ``first + count − 1`` (each seeded by its own number, so a run of 20 is the
    first estimate's 4 plus 16 more: refining never repeats the estimate's work). Kept in this server's
    memory (the finished runs they make up are stored on disk)."""
    marker = (scenario_json, seed, benchmark, first, count)
    with _CHUNKS_LOCK:
        if marker in _CHUNKS:
            _CHUNKS.move_to_end(marker)
            return _CHUNKS[marker]
    scenario = Scenario.model_validate_json(scenario_json)
    tasks = [(scenario, seed, k, benchmark) for k in range(first, first + count)]
    results: list[ReplicationResult] = run_tasks(
        run_replication, tasks, workers=workers_for(count), callback=callback
    )
    with _CHUNKS_LOCK:
        _CHUNKS[marker] = results
        while len(_CHUNKS) > MAX_CHUNKS:
            _CHUNKS.popitem(last=False)
    return results


def run_replications(
    scenario: Scenario,
    reps: int,
    seed: int,
    benchmark: str = "2023",
    workers: int | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> dict[str, Any]:
    """The computation behind a Compare run: the run summary plus each replication's metrics."""
    if workers is not None:
        results = replicate(scenario, reps, seed, workers=workers, benchmark=benchmark, callback=callback)
    else:
        text = scenario.model_dump_json()
        head = min(reps, ESTIMATE_REPS)

        def later(done: int, total: int) -> None:
            if callback is not None:
                callback(head + done, reps)

        results = _replications(text, seed, benchmark, 0, head, callback)
        if reps > head:
            results = [*results, *_replications(text, seed, benchmark, head, reps - head, later)]
    per_rep = [
        {
            "replication": r.replication,
            "overall": r.overall,
            **r.metrics,
            "changes": r.counts.get("changes", 0),
            "deployments": r.counts.get("deployments", 0),
        }
        for r in results
    ]
    summary = summarize(scenario, results, seed, benchmark)
    weeks = scenario.days / 7 * max(len(results), 1)
    return {
        "summary": summary,
        "replications": per_rep,
        "shipped_per_week": sum(r.deployed_changes for r in results) / weeks,
    }


RESULT_FORMAT = 2  # bump when what a stored run holds changes


def _run_payload(scenario_json: str, reps: int, seed: int, benchmark: str) -> dict[str, Any]:
    return {
        "scenario": scenario_json,
        "reps": reps,
        "seed": seed,
        "benchmark": benchmark,
        "format": RESULT_FORMAT,
    }


@st.cache_data(show_spinner=False, max_entries=256)
def cached_run(scenario_json: str, reps: int, seed: int, benchmark: str, label: str = "Simulating") -> dict:
    scenario = Scenario.model_validate_json(scenario_json)
    text = f"{label} ({scenario.name}, {reps} replications)"
    work = _with_progress(text, lambda cb: run_replications(scenario, reps, seed, benchmark, callback=cb))
    return store.get_or_compute(
        "run", _run_payload(scenario_json, reps, seed, benchmark), work, _waiting(text)
    )


def run(
    scenario: Scenario, reps: int, seed: int | None = None, benchmark: str = "2023", label: str = "Simulating"
) -> dict[str, Any]:
    seed = scenario.seed if seed is None else seed
    limits.check_reps(int(reps))
    limits.check_scenario(scenario, scenario.name)
    return cached_run(scenario.model_dump_json(), int(reps), int(seed), benchmark, label)


def is_ready(scenario: Scenario, reps: int, seed: int, benchmark: str = "2023") -> bool:
    """Whether a run is already computed (in this server's memory or on disk): then it shows at once."""
    marker = (scenario.model_dump_json(), int(reps), int(seed), benchmark)
    if marker in st.session_state.setdefault("compute.ready", set()):
        return True
    if store.load(store.key("run", _run_payload(*marker))) is not None:
        st.session_state["compute.ready"].add(marker)
        return True
    return False


def mark_ready(scenario: Scenario, reps: int, seed: int, benchmark: str = "2023") -> None:
    st.session_state.setdefault("compute.ready", set()).add(
        (scenario.model_dump_json(), int(reps), int(seed), benchmark)
    )


# ----------------------------------------------------------------------------------------------
# Plans


def _plan_result(
    plan_toml: str,
    source: str,
    base_dir: str,
    reps: int,
    seed: int,
    benchmark: str,
    callback: Callable[[int, int], Any] | None,
) -> dict[str, Any]:
    from pathlib import Path

    from dorasim_app.uploads import read_plan_text
    from sim.analysis.plan import run_plan

    # the text is a whole plan written out (no extends); read it as an upload is read anyway
    plan = read_plan_text(plan_toml, source, Path(base_dir), uploaded={})
    return dict(run_plan(plan, reps, seed, workers=workers_for(reps), benchmark=benchmark, callback=callback))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_plan(
    plan_toml: str, source: str, base_dir: str, reps: int, seed: int, benchmark: str, name: str
) -> dict[str, Any]:
    payload = {"plan": plan_toml, "reps": reps, "seed": seed, "benchmark": benchmark}
    text = f"Forecasting {name} ({reps} replications)"
    work = _with_progress(
        text, lambda cb: _plan_result(plan_toml, source, base_dir, reps, seed, benchmark, cb)
    )
    return store.get_or_compute("plan", payload, work, _waiting(text))


# ----------------------------------------------------------------------------------------------
# Ship-date forecasts


def _forecast(
    scenario_json: str,
    phases_json: str,
    changes: int,
    start: str,
    reps: int,
    seed: int,
    target: str | None,
    name: str,
    callback: Callable[[int, int], Any] | None,
) -> dict[str, Any]:
    import json

    scenario = Scenario.model_validate_json(scenario_json)
    phases = tuple(Phase(**p) for p in json.loads(phases_json))
    result = forecast(
        scenario,
        changes,
        dt.date.fromisoformat(start),
        reps=reps,
        seed=seed,
        target=dt.date.fromisoformat(target) if target else None,
        phases=phases,
        workers=workers_for(reps),
        name=name,
        callback=callback,
    )
    result["curve"] = probability_curve(result)
    return result


@st.cache_data(show_spinner=False, max_entries=128)
def cached_forecast(
    scenario_json: str,
    phases_json: str,
    changes: int,
    start: str,
    reps: int,
    seed: int,
    target: str | None,
    name: str,
) -> dict[str, Any]:
    payload = {
        "scenario": scenario_json,
        "phases": phases_json,
        "changes": changes,
        "start": start,
        "reps": reps,
        "seed": seed,
        "target": target,
        "name": name,
    }
    text = f"Forecasting when {name} ships ({reps} replications)"
    work = _with_progress(
        text, lambda cb: _forecast(scenario_json, phases_json, changes, start, reps, seed, target, name, cb)
    )
    return store.get_or_compute("forecast", payload, work, _waiting(text))


def phases_json(phases: tuple[Phase, ...]) -> str:
    import dataclasses
    import json

    return json.dumps([dataclasses.asdict(p) for p in phases], sort_keys=True, default=str)


# ----------------------------------------------------------------------------------------------
# One replication's logs (Events) and a runaway check (Levers)


@st.cache_data(show_spinner="Simulating one replication…", max_entries=32)
def _one_replication(scenario_json: str, seed: int, replication: int) -> dict[str, Any]:
    scenario = Scenario.model_validate_json(scenario_json)
    logs = to_logs(simulate(scenario, seed, replication))
    return {
        "changes": logs.changes,
        "deployments": logs.deployments,
        "incidents": logs.incidents,
        "start": logs.start,
        "end": logs.end,
    }


def one_replication(scenario: Scenario, seed: int, replication: int = 0) -> dict[str, Any]:
    """One replication's window logs (DataFrames) and window bounds."""
    limits.check_scenario(scenario, scenario.name)
    return _one_replication(scenario.model_dump_json(), int(seed), int(replication))


def event_logs(window: dict[str, Any]) -> EventLogs:
    return EventLogs(window["changes"], window["deployments"], window["incidents"])


# ----------------------------------------------------------------------------------------------
# Warm-up at the first request


def warmup_jobs() -> list[tuple[str, Callable[[], Any]]]:
    """What a fresh server computes in the background: the shipped scenarios at the default settings
    (the horizon and seed of the default tuned scenario, as :func:`dorasim_app.state.init_session` sets them)."""
    from dorasim_app import state
    from sim.model.scenario import load_scenario

    jobs: list[tuple[str, Callable[[], Any]]] = []
    files = state.scenario_files()
    order = [n for n in ("baseline", "elite") if n in files] + [
        n for n in files if n not in ("baseline", "elite")
    ]
    if not order:
        return jobs
    reference = load_scenario(
        files[state.PREFERRED["scenario"] if state.PREFERRED["scenario"] in files else order[0]]
    )
    for name in order:
        scenario = load_scenario(files[name]).with_values(
            {"days": reference.days, "seed": reference.seed}, source="run settings"
        )
        payload = _run_payload(scenario.model_dump_json(), state.DEFAULT_REPS, scenario.seed, "2023")
        jobs.append((name, _warm_job(scenario, payload, state.DEFAULT_REPS)))
    return jobs


def _warm_job(scenario: Scenario, payload: dict[str, Any], reps: int) -> Callable[[], Any]:
    def job() -> Any:
        return store.get_or_compute(
            "run", payload, lambda: run_replications(scenario, reps, scenario.seed, "2023")
        )

    return job


def _warm() -> None:
    try:
        run_tasks(_noop, [(i,) for i in range(2)], workers=min(2, default_workers()))  # start the shared pool
        _POOL_READY.set()
    except Exception:  # a machine that cannot start processes runs single-process
        pass
    for _, job in warmup_jobs():
        try:
            job()
        except Exception:  # warming is best effort; the views compute what is missing
            continue


def _noop(value: int) -> int:
    return value


@st.cache_resource(show_spinner=False)
def start_warmup() -> threading.Thread:
    """Once per server: warm the pool and store the shipped scenarios' default results in the background."""
    thread = threading.Thread(target=_warm, name="dorasim-warmup", daemon=True)
    if os.environ.get("DORASIM_NO_WARMUP") != "1":
        thread.start()
    return thread


# ----------------------------------------------------------------------------------------------
# The anchor: the throughput Monte Carlo of a team's logs, and backtests of them (Your data)


THROUGHPUT_REPS = 1_000  # resampled futures of the throughput Monte Carlo (as the command line's default)


@st.cache_data(show_spinner=False, max_entries=32)
def _throughput(
    changes_log: Any,
    deployments_log: Any,
    incidents_log: Any,
    changes: int,
    start: str,
    window: tuple[str, str],
    reps: int,
    seed: int,
    target: str | None,
) -> dict[str, Any]:
    from sim.analysis.throughput import throughput_from_logs

    logs = EventLogs(changes_log, deployments_log, incidents_log)
    begin, end = (dt.date.fromisoformat(day) for day in window)
    day = dt.date.fromisoformat(start)
    result = throughput_from_logs(
        logs, changes, day, window_start=begin, window_end=end, reps=reps, seed=seed
    )
    if target is not None:
        allowed = (dt.date.fromisoformat(target) - day).days
        shipped = [
            d
            for d in result["ship_dates"]
            if d is not None and (dt.date.fromisoformat(d) - day).days <= allowed
        ]
        result["target"] = target
        result["probability_by_target"] = len(shipped) / len(result["ship_dates"])
    result["curve"] = probability_curve(result)
    return result


def throughput(
    logs: EventLogs,
    changes: int,
    start: dt.date,
    window: tuple[str, str],
    seed: int,
    target: dt.date | None = None,
    reps: int = THROUGHPUT_REPS,
) -> dict[str, Any]:
    """The throughput Monte Carlo of ``changes`` changes from ``start``, resampling the days of ``window``
    (ISO start, ISO end exclusive): the ``forecast`` shape, its probability curve and the chance by ``target``."""
    return _throughput(
        logs.changes,
        logs.deployments,
        logs.incidents,
        int(changes),
        start.isoformat(),
        (str(window[0]), str(window[1])),
        int(reps),
        int(seed),
        None if target is None else target.isoformat(),
    )


def backtest_cuts(logs: EventLogs) -> tuple[list[dt.date], int]:
    """(the cut dates a hosted backtest runs — the latest :data:`limits.MAX_BACKTEST_CUTS` — and how many the logs
    allow). A one-line :class:`InputError` when the history is too short for one cut."""
    from sim.analysis.backtest import DEFAULT_EVERY_DAYS, DEFAULT_HORIZON_DAYS, DEFAULT_WINDOW_DAYS, cut_dates
    from sim.metrics.scoring import columns_from_frames

    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    cuts = cut_dates(
        columns,
        every_days=DEFAULT_EVERY_DAYS,
        window_days=DEFAULT_WINDOW_DAYS,
        horizon_days=DEFAULT_HORIZON_DAYS,
    )
    return cuts[-limits.MAX_BACKTEST_CUTS :], len(cuts)


def run_backtest(
    logs: EventLogs,
    cuts: list[dt.date],
    seed: int,
    name: str,
    callback: Callable[[int, int], Any] | None = None,
) -> dict[str, Any]:
    """The ``backtest`` JSON of the logs at ``cuts`` (the command line's settings; cuts in parallel once the
    shared pool is up)."""
    from sim.analysis.backtest import BacktestSettings, backtest

    limits.check_logs_for_backtest(logs, len(cuts))
    workers = 1 if len(cuts) < 2 else workers_for(PARALLEL_FROM_REPS)
    return backtest(
        logs, cuts=cuts, settings=BacktestSettings(seed=seed), workers=workers, callback=callback, name=name
    )
