"""Backtests: how well would dorasim have forecast this team? (``python -m sim backtest``, docs/cli.md).

For each cut date the logs are cut as the team saw them at 00:00 UTC that day (:func:`logs_at`):
the ``window_days`` before it calibrate a scenario (:mod:`sim.analysis.calibrate`), and from the cut
on the two methods forecast

- when the first ``N`` changes created from the cut on are all live, for each ``N`` of the case list
  (by default the number of changes actually created in the 30 days after the cut, and 20), by the
  calibrated model (:func:`sim.analysis.forecast.forecast`) and by the throughput Monte Carlo on the same
  window (:mod:`sim.analysis.throughput`);
- the DORA metrics of the ``horizon_days`` after the cut (the model's p10–p90 over replications).

Each forecast is scored against what the rest of the logs show (:mod:`sim.analysis.backtest_scores`).
A case that cannot be judged — too little history before the cut, no release in the window, fewer
than ``N`` changes after it, or work not yet live when the logs end — is kept in the result with the
reason, never scored as a hit or a miss.

Cuts run in parallel on the sweeps' executors (local processes or a Dask cluster,
:mod:`sim.analysis.executors`), one task per cut; inside a cut everything runs in that process, so a
cut's numbers do not depend on the executor or the number of workers.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.backtest_scores import score_case, summarize_scores
from sim.analysis.executors import check_executor, execute
from sim.analysis.throughput import NS_PER_DAY, daily_released, day_ns, throughput_forecast
from sim.errors import InputError
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import NEVER, LogColumns, columns_from_frames, score_logs
from sim.model.scenario import Scenario

DEFAULT_WINDOW_DAYS = 180
DEFAULT_HORIZON_DAYS = 90
DEFAULT_EVERY_DAYS = 90
DEFAULT_SIZES = ("actual30", 20)  # N: the changes created in the 30 days after the cut, and 20
DEFAULT_REPS = 40  # model replications per forecast
THROUGHPUT_REPS = 1_000
CALIBRATION_REPS = 4  # replications per parameter set while calibrating each window
CALIBRATION_CHECK_REPS = 8
MIN_WINDOW_RELEASES = 1
DORA_METRICS = (
    "deployment_frequency_per_day",
    "lead_time_hours",
    "change_failure_rate",
    "time_to_restore_hours",
)
METHODS = ("model", "throughput", "both")


@dataclass(frozen=True)
class BacktestSettings:
    window_days: int = DEFAULT_WINDOW_DAYS
    horizon_days: int = DEFAULT_HORIZON_DAYS
    sizes: tuple[int | str, ...] = DEFAULT_SIZES
    method: str = "both"
    reps: int = DEFAULT_REPS
    throughput_reps: int = THROUGHPUT_REPS
    calibration_reps: int = CALIBRATION_REPS
    calibration_check_reps: int = CALIBRATION_CHECK_REPS
    seed: int = 1
    base: Scenario | None = None


# ---------------------------------------------------------------------------------------------
# Logs as they stood on a day


def logs_at(logs: EventLogs, start: dt.date, end: dt.date, columns: LogColumns | None = None) -> EventLogs:
    """The logs a team had at ``end`` 00:00 UTC, for the window ``[start, end)``.

    Deployments and incidents created in the window; changes created before ``end`` that were not
    already live before ``start`` (those first deployed after ``end`` are the work waiting at the cut);
    an incident resolved at or after ``end`` is still open at the cut.
    """
    columns = columns or columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    lo, hi = day_ns(start), day_ns(end)
    first = columns.change_first
    keep_change = (columns.change_t < hi) & ((first == NEVER) | (first >= lo))
    keep_deploy = (columns.deploy_t >= lo) & (columns.deploy_t < hi)
    keep_incident = (columns.incident_t >= lo) & (columns.incident_t < hi)
    incidents = logs.incidents.loc[keep_incident].copy()
    resolved = incidents["time_resolved"]
    if len(incidents):
        late = resolved.notna() & (resolved >= pd.Timestamp(end, tz="UTC"))
        incidents.loc[late, "time_resolved"] = pd.NaT
    return EventLogs(
        logs.changes.loc[keep_change].reset_index(drop=True),
        logs.deployments.loc[keep_deploy].reset_index(drop=True),
        incidents.reset_index(drop=True),
    )


def actual_ship_day(columns: LogColumns, cut: dt.date, changes: int) -> tuple[int | None, str | None]:
    """(day the first ``changes`` changes created from ``cut`` on were all live, or None with the reason)."""
    t0 = day_ns(cut)
    after = np.flatnonzero(columns.change_t >= t0)
    if after.size < changes:
        return None, f"only {after.size} changes were created after the cut (N = {changes})"
    work = after[np.argsort(columns.change_t[after], kind="stable")[:changes]]
    first = columns.change_first[work]
    if (first == NEVER).any():
        return None, f"{int((first == NEVER).sum())} of the {changes} changes were not live when the logs end"
    return int((first.max() - t0) // NS_PER_DAY), None


def created_between(columns: LogColumns, start: dt.date, end: dt.date) -> int:
    return int(((columns.change_t >= day_ns(start)) & (columns.change_t < day_ns(end))).sum())


def cut_dates(columns: LogColumns, *, every_days: int, window_days: int, horizon_days: int) -> list[dt.date]:
    """Every ``every_days`` days, the latest cut first: each has ``window_days`` of releases before it and
    ``horizon_days`` of logs after it."""
    if columns.deploy_t.size == 0:
        raise InputError("backtest: the deployments log is empty: there is no release to forecast from")
    first = pd.Timestamp(int(columns.deploy_t.min()), tz="UTC").date()
    last = pd.Timestamp(int(columns.deploy_t.max()), tz="UTC").date()
    cut = last - dt.timedelta(days=horizon_days)
    earliest = first + dt.timedelta(days=window_days)
    cuts = []
    while cut >= earliest:
        cuts.append(cut)
        cut -= dt.timedelta(days=every_days)
    if not cuts:
        raise InputError(
            f"backtest: the deployments span {first} to {last} ({(last - first).days} days): too little "
            f"history for a {window_days}-day window and a {horizon_days}-day horizon"
        )
    return sorted(cuts)


# ---------------------------------------------------------------------------------------------
# One cut


def _observed_dora(logs: EventLogs, cut: dt.date, horizon_days: int) -> dict[str, float | None]:
    end = cut + dt.timedelta(days=horizon_days)
    return score_logs(logs, start=cut.isoformat(), end=end.isoformat())["metrics"]


def _model_runs(scenario: Scenario, cut: dt.date, horizon_days: int, reps: int, seed: int) -> dict[str, Any]:
    from sim.analysis.forecast import moved_to
    from sim.analysis.runner import percentiles, replicate

    # moved as a forecast moves it: the state recorded at the window's end stays on its date, the cut
    run = moved_to(scenario, cut, source="backtest").with_values({"days": horizon_days}, source="backtest")
    results = replicate(run, reps, seed, workers=1, show_progress=False)
    return {key: percentiles([r.metrics.get(key) for r in results]) for key in DORA_METRICS}


def _dora_case(observed: dict[str, float | None], predicted: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in DORA_METRICS:
        value, band = observed.get(key), predicted.get(key, {})
        inside = None
        if value is not None and band.get("p10") is not None:
            inside = bool(band["p10"] <= value <= band["p90"])
        out[key] = {
            "observed": value,
            "p10": band.get("p10"),
            "p50": band.get("p50"),
            "p90": band.get("p90"),
            "inside_p10_p90": inside,
        }
    return out


def backtest_cut(logs: EventLogs, cut: dt.date, settings: BacktestSettings) -> dict[str, Any]:
    """Calibrate on the window before ``cut``, forecast from it, and score against the logs after it."""
    began = time.perf_counter()
    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    window_start = cut - dt.timedelta(days=settings.window_days)
    window = logs_at(logs, window_start, cut, columns)
    daily = daily_released(columns, window_start, cut)
    releases = len(window.deployments)
    record: dict[str, Any] = {
        "cut": cut.isoformat(),
        "window": {
            "start": window_start.isoformat(),
            "end": cut.isoformat(),
            "releases": releases,
            "changes_released": int(daily.sum()),
        },
        "cases": [],
        "dora": None,
        "calibration": None,
    }
    sizes = []
    for size in settings.sizes:
        n = created_between(columns, cut, cut + dt.timedelta(days=30)) if size == "actual30" else int(size)
        if n >= 1 and n not in sizes:
            sizes.append(n)
    history = (day_ns(cut) - int(columns.deploy_t.min())) // NS_PER_DAY if columns.deploy_t.size else 0
    if history < settings.window_days:
        record["not_judged"] = (
            f"too little history: the first release is {max(history, 0)} days before the cut, "
            f"the window needs {settings.window_days}"
        )
        record["seconds"] = time.perf_counter() - began
        return record
    if releases < MIN_WINDOW_RELEASES:
        record["not_judged"] = f"no release in the {settings.window_days} days before the cut"
        record["seconds"] = time.perf_counter() - began
        return record
    scenario = None
    if settings.method in ("model", "both"):
        scenario, record["calibration"] = _calibrate_window(window, (window_start, cut), settings)
    for n in sizes:
        actual, reason = actual_ship_day(columns, cut, n)
        case: dict[str, Any] = {"cut": cut.isoformat(), "n": n, "actual_days": actual}
        if reason:
            case["not_judged"] = reason
            record["cases"].append(case)
            continue
        assert actual is not None
        if settings.method in ("throughput", "both"):
            tp = throughput_forecast(daily, n, cut, reps=settings.throughput_reps, seed=settings.seed)
            case["throughput"] = _scored(tp, actual)
        if scenario is not None:
            from sim.analysis.forecast import forecast

            fc = forecast(scenario, n, cut, reps=settings.reps, seed=settings.seed, workers=1)
            case["model"] = _scored(fc, actual)
        record["cases"].append(case)
    if scenario is not None:
        observed = _observed_dora(logs, cut, settings.horizon_days)
        predicted = _model_runs(scenario, cut, settings.horizon_days, settings.reps, settings.seed)
        record["dora"] = {"horizon_days": settings.horizon_days, "metrics": _dora_case(observed, predicted)}
    record["seconds"] = time.perf_counter() - began
    return record


def _calibrate_window(
    window: EventLogs, bounds: tuple[dt.date, dt.date], settings: BacktestSettings
) -> tuple[Scenario, dict[str, Any]]:
    from sim.analysis.calibrate import calibrate

    result = calibrate(
        window,
        base=settings.base,
        reps=settings.calibration_reps,
        check_reps=settings.calibration_check_reps,
        seed=settings.seed,
        workers=1,
        window=bounds,
    )
    report = result.report
    within = {key: row.get("within_bar") for key, row in report["metrics"].items() if key in DORA_METRICS}
    summary = {
        "within_bar": within,
        "observed": {k: report["metrics"][k]["observed"] for k in within},
        "simulated_p50": {k: report["metrics"][k]["simulated_p50"] for k in within},
        "deployments": report["counts"].get("deployments"),
        "engineers": result.scenario.team.engineers,
        "cadence": result.scenario.release.cadence,
        **{
            key: getattr(result.scenario.release, key)
            if result.scenario.release.cadence == "irregular"
            else None
            for key in ("gap_days", "gap_law", "prep_share", "fixup_share")
        },
        "branch_lifetime_days": result.scenario.branching.branch_lifetime_days,
        "strategy": result.scenario.branching.strategy,
        "pending_hazard": (
            result.scenario.release.pending_hazard
            if result.scenario.release.cadence == "when_ready"
            else None
        ),
    }
    return result.scenario, summary


def _scored(forecast_result: dict[str, Any], actual: int) -> dict[str, Any]:
    days = [
        None
        if d is None
        else (dt.date.fromisoformat(d) - dt.date.fromisoformat(forecast_result["start"])).days
        for d in forecast_result["ship_dates"]
    ]
    cap = float(forecast_result.get("max_horizon_days") or 0) or float(
        max((d for d in days if d is not None), default=0)
    )
    scored = score_case(days, float(actual), cap)
    return {key: (round(value, 3) if isinstance(value, float) else value) for key, value in scored.items()}


# ---------------------------------------------------------------------------------------------
# The whole backtest


def backtest(
    logs: EventLogs,
    *,
    cuts: Sequence[dt.date] | None = None,
    every_days: int = DEFAULT_EVERY_DAYS,
    settings: BacktestSettings | None = None,
    workers: int | None = None,
    progress: str | None = None,
    callback: Callable[[int, int], Any] | None = None,
    name: str = "logs",
    executor: str = "local",
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Backtest dorasim (and the throughput Monte Carlo) on a team's logs; the ``backtest`` JSON of docs/cli.md.

    ``callback(done, total)`` is called as cuts finish (the app's progress bar). Cuts run on the sweeps'
    executors (:mod:`sim.analysis.executors`): local processes, or a Dask cluster (``scheduler``).
    """
    check_executor(executor, scheduler)
    settings = settings or BacktestSettings()
    if settings.method not in METHODS:
        raise InputError(f"--method {settings.method!r}: must be one of {', '.join(METHODS)}")
    if settings.window_days < 28:
        raise InputError(f"--window-days {settings.window_days}: must be >= 28")
    if settings.horizon_days < 7:
        raise InputError(f"--horizon-days {settings.horizon_days}: must be >= 7")
    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    if cuts is None:
        cuts = cut_dates(
            columns,
            every_days=every_days,
            window_days=settings.window_days,
            horizon_days=settings.horizon_days,
        )
    else:
        cuts = sorted(set(cuts))
        if not cuts:
            raise InputError("backtest: no cut date given")
    began = time.perf_counter()
    tasks = [(logs, cut, settings) for cut in cuts]
    records = execute(
        backtest_cut,
        tasks,
        executor=executor,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        callback=callback,
    )
    return summarize_backtest(records, settings, name=name, seconds=time.perf_counter() - began)


def summarize_backtest(
    records: Sequence[dict[str, Any]],
    settings: BacktestSettings,
    *,
    name: str = "logs",
    seconds: float | None = None,
) -> dict[str, Any]:
    cases = [case for record in records for case in record["cases"]]
    judged = [c for c in cases if "not_judged" not in c]
    summary: dict[str, Any] = {}
    for method in ("model", "throughput"):
        scored = [c[method] for c in judged if method in c]
        if scored:
            summary[method] = summarize_scores(scored)
    both = [c for c in judged if "model" in c and "throughput" in c]
    if both:
        model = float(np.mean([c["model"]["crps"] for c in both]))
        anchor = float(np.mean([c["throughput"]["crps"] for c in both]))
        summary["crps_ratio_model_to_throughput"] = model / anchor if anchor > 0 else None
    dora = [r["dora"] for r in records if r.get("dora")]
    summary["dora"] = _dora_summary(dora)
    calibrations = [r["calibration"] for r in records if r.get("calibration")]
    summary["in_sample"] = _in_sample(calibrations)
    return {
        "logs": name,
        "method": settings.method,
        "window_days": settings.window_days,
        "horizon_days": settings.horizon_days,
        "reps": settings.reps,
        "seed": settings.seed,
        "cuts": [r["cut"] for r in records],
        "cases": cases,
        "summary": summary,
        "dora": [{"cut": r["cut"], **r["dora"]} for r in records if r.get("dora")],
        "windows": [
            {k: r[k] for k in ("cut", "window", "calibration", "seconds") if k in r}
            | ({"not_judged": r["not_judged"]} if "not_judged" in r else {})
            for r in records
        ],
        "not_judged": [
            {"cut": c["cut"], "n": c["n"], "reason": c["not_judged"]} for c in cases if "not_judged" in c
        ]
        + [{"cut": r["cut"], "n": None, "reason": r["not_judged"]} for r in records if "not_judged" in r],
        "seconds": None if seconds is None else round(seconds, 1),
    }


def _dora_summary(dora: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in DORA_METRICS:
        marks = [
            d["metrics"][key]["inside_p10_p90"]
            for d in dora
            if d["metrics"][key]["inside_p10_p90"] is not None
        ]
        out[key] = {"cases": len(marks), "inside_p10_p90": (sum(marks) / len(marks)) if marks else None}
    return out


def _in_sample(calibrations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Share of windows with >= 3 releases whose calibrated scenario reproduced DF and lead time within the bar."""
    eligible = [c for c in calibrations if (c.get("deployments") or 0) >= 3]
    both = [
        c
        for c in eligible
        if c["within_bar"].get("deployment_frequency_per_day") and c["within_bar"].get("lead_time_hours")
    ]
    return {
        "windows": len(eligible),
        "within_bar_df_and_lead_time": (len(both) / len(eligible)) if eligible else None,
        "within_bar_df": (
            sum(bool(c["within_bar"].get("deployment_frequency_per_day")) for c in eligible) / len(eligible)
        )
        if eligible
        else None,
    }


def parse_sizes(texts: Sequence[str]) -> tuple[int | str, ...]:
    """``--n`` values: a positive integer or ``actual30`` (the changes created in the 30 days after the cut)."""
    out: list[int | str] = []
    for text in texts:
        if text == "actual30":
            out.append(text)
            continue
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"--n {text!r}: not a whole number or 'actual30'") from None
        if value < 1:
            raise InputError(f"--n {value}: must be >= 1")
        out.append(value)
    return tuple(out)
