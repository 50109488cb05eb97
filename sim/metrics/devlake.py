"""Apache DevLake's reading of the logs (its DORA plugin and dashboard); :mod:`sim.metrics.conventions` says,
metric by metric, how it differs from dorasim and Four Keys."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics.convention_logs import NS_PER_MINUTE, ConventionLogs, convention_result

# DevLake's deployment-frequency calendar is today minus 0..399 days (its SQL's H+T+U), clipped to
# the range's start; here "today" is the window's last day
DEVLAKE_LOOKBACK_DAYS = 399


def lower_median(values: np.ndarray) -> float | None:
    """DevLake's median: the largest value whose ``percent_rank`` is at most 0.5 (the lower middle)."""
    if len(values) == 0:
        return None
    ordered = np.sort(np.asarray(values, dtype=float))
    return float(ordered[(len(ordered) - 1) // 2])


def _devlake_attach(logs: ConventionLogs) -> np.ndarray:
    """Row of the last deployment created strictly before each incident opened; -1 if none."""
    order = np.lexsort((np.arange(len(logs.deploy_t)), logs.deploy_t))
    times = logs.deploy_t[order]
    cut = np.searchsorted(times, logs.incident_t, side="left")
    return (
        np.where(cut > 0, order[np.maximum(cut - 1, 0)], -1)
        if len(times)
        else np.full(len(logs.incident_t), -1)
    )


def devlake(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    benchmark: str = "2023",
) -> dict[str, Any]:
    logs = ConventionLogs(changes, deployments, incidents, start, end)
    details: dict[str, Any] = {}
    frequency = None
    if not logs.empty:
        per_week, _, _ = logs.weekly_deployment_days(
            week_starts_monday=True, lookback_days=DEVLAKE_LOOKBACK_DAYS
        )
        per_month = logs.monthly_deployment_days(lookback_days=DEVLAKE_LOOKBACK_DAYS)
        calendar = logs.calendar(DEVLAKE_LOOKBACK_DAYS)
        week_median, month_median = lower_median(per_week), lower_median(per_month)
        assert week_median is not None and month_median is not None
        frequency = week_median / 7
        band = (
            "elite"
            if week_median >= 7
            else "high"
            if week_median >= 1
            else "medium"
            if month_median >= 1
            else "low"
        )
        label = (
            f"{week_median:g} deployment days per week"
            if band in ("elite", "high")
            else f"{month_median:g} deployment days per month"
        )
        details.update(
            {
                "deployment_days_per_week_median": week_median,
                "deployment_frequency_label": label,
                "deployment_days_per_month_median": month_median,
                "weeks": len(per_week),
                "deployment_frequency_days": len(calendar),
                "deployment_frequency_from": str(calendar[0].astype("datetime64[D]")),
                "band_overrides": {"deployment_frequency": band},
            }
        )

    first = logs.first_deployment()
    very_first = (
        int(np.lexsort((np.arange(len(logs.deploy_t)), logs.deploy_t))[0]) if len(logs.deploy_t) else -1
    )
    minutes, dropped_first = [], 0
    for change, row in first.items():
        created = logs.change_time.get(change)
        if created is None or not logs.deploy_in[row]:
            continue
        if row == very_first:
            dropped_first += 1
            continue
        minutes.append(max(0, math.ceil((int(logs.deploy_t[row]) - created) / NS_PER_MINUTE)))
    lead = lower_median(np.array(minutes, dtype=float))

    attached = _devlake_attach(logs)
    failed = set(attached[attached >= 0].tolist()) & set(np.flatnonzero(logs.deploy_in).tolist())
    n_deploys = int(logs.deploy_in.sum())
    cfr = len(failed) / n_deploys if n_deploys else None
    # the dashboard keeps deployments finished in the window and incidents resolved in it
    resolved_in = logs.resolved & logs.inside(logs.resolved_t)
    restore = [
        int((logs.resolved_t[i] - logs.deploy_t[attached[i]]) // NS_PER_MINUTE)
        for i in range(len(attached))
        if attached[i] >= 0 and resolved_in[i] and logs.deploy_in[attached[i]]
    ]
    ttr = lower_median(np.array(restore, dtype=float))
    metrics = {
        "deployment_frequency_per_day": frequency,
        "lead_time_hours": None if lead is None else lead / 60,
        "change_failure_rate": cfr,
        "time_to_restore_hours": None if ttr is None else ttr / 60,
        "rework_rate": None,
    }
    details.update(
        {
            "lead_time_changes": len(minutes),
            "changes_dropped_first_deployment": dropped_first,
            "incidents_attached": int((attached >= 0).sum()),
            "failed_deployments": len(failed),
            "resolved_incidents": len(restore),
        }
    )
    counts = {
        "changes": len(minutes) + dropped_first,
        "deployments": n_deploys,
        "incidents": int(logs.inside(logs.incident_t).sum()),
        "undeployed_changes": 0,
    }
    return convention_result(logs, "devlake", metrics, counts, benchmark, details, [])
