"""An assembled organisation checked against its logs (:mod:`sim.analysis.calibrate_org`): simulated
replications scored pooled and per team beside what the logs show, and the report of the calibration."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibrate import METRICS, CalibrationResult
from sim.analysis.calibrate_org_assembly import Assembled
from sim.analysis.calibrate_search import BAR, bar_error
from sim.analysis.parallel import run_tasks
from sim.analysis.plan import Plan
from sim.analysis.runner import percentiles
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import score, score_columns
from sim.model.delivery import simulate
from sim.model.records import to_columns, window_bounds
from sim.model.scenario import get_value, parameter_keys


def _check_replication(
    plan: Plan, seed: int, replication: int, benchmark: str, teams: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One replication of the organisation: the pooled metrics and every team's, over the whole window."""
    records = simulate(plan.scenario, seed, replication, plan.phases)
    columns = to_columns(records)
    start, end = window_bounds(records)
    pooled = score_columns(columns, start=start, end=end, benchmark=benchmark)["metrics"]
    return dict(pooled), [
        dict(score_columns(part, start=start, end=end, benchmark=benchmark)["metrics"])
        for part in columns.by_team(teams)
    ]


def check_org(
    plan: Plan,
    teams: list[str],
    results: dict[str, CalibrationResult],
    logs: EventLogs,
    window: tuple[dt.date, dt.date],
    seed: int,
    reps: int,
    workers: int | None,
    benchmark: str,
) -> dict[str, Any]:
    tasks = [(plan, seed, k, benchmark, len(teams)) for k in range(reps)]
    runs = run_tasks(_check_replication, tasks, workers=workers)
    start, end = (pd.Timestamp(d, tz="UTC") for d in window)
    observed = score(
        logs.changes, logs.deployments, logs.incidents, start=start, end=end, benchmark=benchmark
    )
    pooled = _compare(observed["metrics"], [run[0] for run in runs])
    per_team = []
    for k, team in enumerate(teams):
        seen = results[team].report["metrics"]
        per_team.append(_compare({key: seen[key]["observed"] for key in seen}, [run[1][k] for run in runs]))
    return {"reps": reps, "pooled": pooled, "teams": per_team, "counts": observed["counts"]}


def _compare(observed: dict[str, Any], simulated: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for key in (*METRICS, "rework_rate"):
        spread = percentiles([run.get(key) for run in simulated])
        error = bar_error(key, spread["p50"], observed.get(key)) if key in BAR else None
        out[key] = {
            "observed": observed.get(key),
            "simulated_p50": spread["p50"],
            "simulated_p10": spread["p10"],
            "simulated_p90": spread["p90"],
            "error": error,
            "within_bar": (error <= BAR[key][1]) if error is not None else None,
        }
    return out


def org_report(
    plan: Plan,
    teams: list[str],
    results: dict[str, CalibrationResult],
    assembled: Assembled,
    check: dict[str, Any],
    window: tuple[dt.date, dt.date],
    benchmark: str,
    warnings: list[str],
) -> dict[str, Any]:
    scenario = plan.scenario
    parameters = {
        key: {
            "value": _plain(get_value(scenario, key)),
            "origin": "organisation" if key in assembled.shared else "team",
            "note": assembled.shared[key]["rule"]
            if key in assembled.shared
            else "the first phase's team value where a team's phase sets it, else this value",
        }
        for key in parameter_keys()
    }
    unstable = [k + 1 for k, team in enumerate(teams) if not results[team].report["stability"]["stable"]]
    for key in METRICS:
        row = check["pooled"][key]
        if row["within_bar"] is False:
            warnings.append(
                f"organisation {key}: simulated p50 {row['simulated_p50']:.4g} vs observed "
                f"{row['observed']:.4g} is outside the calibration bar"
            )
    return {
        "scenario": scenario.name,
        "organisation": True,
        "window": {"start": window[0].isoformat(), "end": window[1].isoformat(), "days": scenario.days},
        "benchmark": benchmark,
        "seed": plan.seed,
        "reps": check["reps"],
        "fit": {"teams": {team: results[team].report["fit"] for team in teams}},
        "metrics": check["pooled"],
        "counts": check["counts"],
        "stability": {"stable": not unstable, "unstable_teams": unstable},
        "parameters": parameters,
        "shared": {
            key: {
                **item,
                "value": _plain(item["value"]),
                "teams": {t: _plain(v) for t, v in item["teams"].items()},
            }
            for key, item in assembled.shared.items()
        },
        "teams": [
            {
                "team": team,
                "number": k + 1,
                **assembled.scale[team],
                "phase": {key: _plain(value) for key, value in plan.phases[k].values.items()},
                "metrics": check["teams"][k],
                "calibration": _finite(results[team].report),
            }
            for k, team in enumerate(teams)
        ],
        "missing": [f"team {team}: {note}" for team in teams for note in results[team].report["missing"]],
        "warnings": warnings,
    }


def _finite(value: Any) -> Any:
    """A team's report as strict JSON: a non-finite number (a log-likelihood of -inf) becomes null."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


__all__ = ["check_org", "org_report"]
