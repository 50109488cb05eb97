"""Four Keys' reading of the logs (``dora-team/fourkeys``: ``queries/*.sql`` and the Grafana dashboard's stat
panels); :mod:`sim.metrics.conventions` says, metric by metric, how it differs from dorasim and DevLake."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.metrics.convention_logs import NS_PER_MINUTE, ConventionLogs, convention_result
from sim.metrics.scoring import NS_PER_HOUR, median_or_none

# Four Keys' deployment-frequency labels are the DORA report's buckets: its band follows the label
FOURKEYS_FREQUENCY_BANDS = {"Daily": "elite", "Weekly": "high", "Monthly": "medium", "Yearly": "low"}


def _fourkeys_frequency(logs: ConventionLogs) -> tuple[float | None, dict[str, Any]]:
    if logs.empty:
        return None, {}
    per_week, deployed, months = logs.weekly_deployment_days(week_starts_monday=False)
    monthly = np.array([deployed[months == m].sum() for m in months])
    days_median = float(np.median(per_week))
    if days_median >= 3:
        label = "Daily"
    elif float(np.median(deployed)) >= 1:
        label = "Weekly"
    elif float(np.median(monthly)) >= 1:
        label = "Monthly"
    else:
        label = "Yearly"
    return days_median / 7, {
        "deployment_days_per_week_median": days_median,
        "weeks": len(per_week),
        "deployment_frequency_label": label,
        "band_overrides": {"deployment_frequency": FOURKEYS_FREQUENCY_BANDS[label]},
    }


def _fourkeys_bucket(hours: float | None) -> str | None:
    if hours is None:
        return None
    for limit, name in ((24, "One day"), (168, "One week"), (730, "One month"), (730 * 6, "Six months")):
        if hours < limit:
            return name
    return "One year"


def _fourkeys_first_listing(logs: ConventionLogs) -> dict[str, int]:
    """Change id → time of the earliest deployment listing it (the root cause's deployment)."""
    first: dict[str, int] = {}
    for row, change in zip(logs.listed_row.tolist(), logs.listed_ids, strict=True):
        t = int(logs.deploy_t[row])
        first[change] = min(first.get(change, t), t)
    return first


def fourkeys(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    benchmark: str = "2023",
) -> dict[str, Any]:
    logs = ConventionLogs(changes, deployments, incidents, start, end)
    frequency, details = _fourkeys_frequency(logs)
    warnings: list[str] = []

    pair_in = logs.deploy_in[logs.listed_row]
    minutes = []
    for row, change in zip(
        logs.listed_row[pair_in].tolist(),
        [c for c, k in zip(logs.listed_ids, pair_in, strict=True) if k],
        strict=True,
    ):
        created = logs.change_time.get(change)
        if created is None:
            continue
        diff = int((logs.deploy_t[row] - created) / NS_PER_MINUTE)  # BigQuery truncates toward zero
        if diff > 0:
            minutes.append(diff)
    lead = median_or_none(np.array(minutes, dtype=float))

    # CFR: an incident with a root-cause change matches every (deployment in the window, that
    # change) row; one that only names a deployment counts once for it.
    rows_with_changes = set(logs.listed_row[pair_in].tolist())
    pairs_by_change: dict[str, int] = {}
    for row, change in zip(logs.listed_row.tolist(), logs.listed_ids, strict=True):
        if logs.deploy_in[row]:
            pairs_by_change[change] = pairs_by_change.get(change, 0) + 1
    first_listing = _fourkeys_first_listing(logs)
    matches = 0
    opened = logs.incident_t.copy()
    for i, (cause, deploy) in enumerate(zip(logs.root_cause, logs.incident_deploy, strict=True)):
        row = logs.deploy_row.get(deploy) if deploy else None
        if cause:
            matches += pairs_by_change.get(cause, 0)
            if cause in first_listing:
                opened[i] = min(opened[i], first_listing[cause])
        elif row is not None:
            matches += int(row in rows_with_changes)
            opened[i] = min(opened[i], int(logs.deploy_t[row]))
    known = any(c in logs.change_time for c in logs.listed_ids)
    cfr = None if not rows_with_changes else (matches / len(rows_with_changes) if known else 0.0)

    # TTR: from the earlier of the incident and its root cause's deployment, in whole hours
    counted = logs.inside(opened)
    restore = [
        int((logs.resolved_t[i] - opened[i]) // NS_PER_HOUR) for i in np.flatnonzero(counted & logs.resolved)
    ]
    ttr = median_or_none(np.array(restore, dtype=float))
    metrics = {
        "deployment_frequency_per_day": frequency,
        "lead_time_hours": None if lead is None else lead / 60,
        "change_failure_rate": cfr,
        "time_to_restore_hours": ttr,
        "rework_rate": None,
    }
    details.update(
        {
            "lead_time_pairs": len(minutes),
            "lead_time_label": _fourkeys_bucket(metrics["lead_time_hours"]),
            "failure_matches": matches,
            "deployments_with_changes": len(rows_with_changes),
            "change_failure_rate_label": None
            if cfr is None
            else ("0-15%" if cfr <= 0.15 else "16-45%" if cfr < 0.46 else "46-60%"),
            "time_to_restore_label": _fourkeys_bucket(ttr),
            "resolved_incidents": len(restore),
        }
    )
    counts = {
        "changes": len({c for c, k in zip(logs.listed_ids, pair_in, strict=True) if k}),
        "deployments": int(logs.deploy_in.sum()),
        "incidents": int(counted.sum()),
        "undeployed_changes": 0,
    }
    return convention_result(logs, "fourkeys", metrics, counts, benchmark, details, warnings)
