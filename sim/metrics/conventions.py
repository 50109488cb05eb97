"""Scoring conventions (docs/conventions.md): the same logs scored the way dorasim, Four Keys and
Apache DevLake define each metric, so a team can reconcile dorasim with the dashboard it has.

``dora`` is :func:`sim.metrics.scoring.score` unchanged. ``fourkeys`` follows the SQL of
``dora-team/fourkeys`` (``queries/*.sql`` and the Grafana dashboard's stat panels);
``devlake`` follows Apache DevLake's DORA plugin and dashboard. All three share the window
(docs/scoring.md), the band cut-offs and the result's shape; each convention's own figures and
labels are under ``details``. Per metric:

Deployment frequency (both references: deployment *days*, medians over weeks)
    Every calendar week touching the window is a row (Four Keys: weeks from Sunday; DevLake:
    from Monday), counting the distinct UTC days with a deployment. DevLake's calendar is at most
    the last 400 days of the window (its SQL counts back 0..399 days from today; here from the
    window's last day). The metric is the median
    of those counts / 7 (a team deploying every day of the week scores 1 / day). Four Keys
    takes the interpolated median and labels the result Daily (median >= 3 days a week),
    Weekly (median week has a deployment), Monthly (median of deployed weeks per month >= 1)
    or Yearly — the band follows that label (elite, high, medium, low); DevLake takes the lower middle value and bands elite at 7 days a week, high at
    1 day a week, medium when the median month has a deployment day, low below.
Lead time
    Four Keys: every (deployment, listed change) pair of a deployment in the window, in
    whole minutes (truncated); pairs <= 0 minutes and changes missing from changes.csv
    dropped; interpolated median. DevLake: per change, its first deployment (in the window);
    changes first shipped by the very first deployment of the logs dropped (DevLake diffs
    each deployment against the previous one, and the first has none); minutes rounded up,
    a negative value counted as 0; lower-middle median.
Change failure rate
    Four Keys: incidents name a root-cause change (the ``root_cause`` column when present,
    else the changes of the deployment they name); the numerator counts every (deployment in
    the window, listed change, incident) match — it can exceed 1 — over deployments in the
    window that list at least one change. DevLake: each incident (with or without a
    ``deploy_id``) is attached to the last deployment created strictly before it opened;
    deployments in the window with at least one attached incident / deployments in the window.
Time to restore
    Four Keys: over every resolved incident (linked or not) opened in the window, from the
    earlier of the incident's opening and its root cause's first deployment, to the
    resolution, in whole hours (truncated, as the dashboard's ``TIMESTAMP_DIFF(..., HOUR)``);
    interpolated median. DevLake: over resolved incidents attached (as above) to a deployment
    in the window and resolved in the window, from that deployment to the resolution, in whole
    minutes; lower-middle.
Rework rate
    Neither reference computes it: ``null``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.metrics.bands import bands_for, check_benchmark, overall_band
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import (
    NS_PER_DAY,
    NS_PER_HOUR,
    columns_from_frames,
    median_or_none,
    resolve_window,
    score,
    window_length_days,
)

CONVENTIONS = ("dora", "fourkeys", "devlake")
CHOICES = (*CONVENTIONS, "all")
LABELS = {"dora": "dorasim (DORA)", "fourkeys": "Four Keys", "devlake": "Apache DevLake"}
NS_PER_MINUTE = 60 * 10**9
# Four Keys' deployment-frequency labels are the DORA report's buckets: its band follows the label
FOURKEYS_FREQUENCY_BANDS = {"Daily": "elite", "Weekly": "high", "Monthly": "medium", "Yearly": "low"}
_THURSDAY_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
# DevLake's deployment-frequency calendar is today minus 0..399 days (its SQL's H+T+U), clipped to
# the range's start; here "today" is the window's last day
DEVLAKE_LOOKBACK_DAYS = 399


def check_convention(name: str) -> str:
    if name not in CHOICES:
        raise InputError(f"--convention {name!r}: choose one of {', '.join(CHOICES)}")
    return name


def lower_median(values: np.ndarray) -> float | None:
    """DevLake's median: the largest value whose ``percent_rank`` is at most 0.5 (the lower middle)."""
    if len(values) == 0:
        return None
    ordered = np.sort(np.asarray(values, dtype=float))
    return float(ordered[(len(ordered) - 1) // 2])


# ---------------------------------------------------------------------------------------------
# Shared pieces


class _Logs:
    """Numeric columns of the three logs plus the window, as the conventions need them."""

    def __init__(self, changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame,
                 start: Any, end: Any):
        cols = columns_from_frames(changes, deployments, incidents)
        labels = cols.labels
        assert labels is not None  # read from frames: the ids are kept
        window = resolve_window(cols.window_timestamps(), start, end)
        self.empty = window is None
        self.start: int  # the window in ns since the epoch
        self.end: int
        self.start, self.end = (window[0].value, window[1].value) if window else (0, 0)
        self.window_days = window_length_days(*window) if window else 0
        self.change_ids = labels.change_id.to_pylist()
        self.change_t = cols.change_t
        self.deploy_ids = labels.deploy_id.to_pylist()
        self.deploy_t = cols.deploy_t
        self.listed_row = labels.listed_row
        self.listed_ids = labels.listed_id.to_pylist()
        self.incident_ids = labels.incident_id.to_pylist()
        self.incident_t = cols.incident_t
        self.resolved_t = cols.resolved_t
        self.resolved = cols.resolved
        self.incident_deploy = labels.incident_deploy.to_pylist()
        root = incidents["root_cause"] if "root_cause" in incidents.columns else pd.Series("", index=incidents.index)
        self.root_cause = [("" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v).strip())
                           for v in root]
        self.change_time = dict(zip(self.change_ids, self.change_t.tolist(), strict=True))
        self.deploy_row = {d: i for i, d in enumerate(self.deploy_ids)}
        self.deploy_in = self.inside(self.deploy_t)
        self.caused = cols.incident_named_deploy

    def inside(self, times: np.ndarray) -> np.ndarray:
        return (times >= self.start) & (times < self.end)

    def first_deployment(self) -> dict[str, int]:
        """Change id → row of the earliest deployment listing it (ties: the lower row)."""
        first: dict[str, int] = {}
        order = np.lexsort((self.listed_row, self.deploy_t[self.listed_row]))
        for k in order:
            first.setdefault(self.listed_ids[k], int(self.listed_row[k]))
        return first

    def calendar(self, lookback_days: int | None = None) -> np.ndarray:
        """The window's UTC days (numbers since the epoch); at most the last ``lookback_days + 1`` of them."""
        first_day, last_day = self.start // NS_PER_DAY, (self.end - 1) // NS_PER_DAY
        if lookback_days is not None:
            first_day = max(first_day, last_day - lookback_days)
        return np.arange(first_day, last_day + 1)

    def weekly_deployment_days(self, week_starts_monday: bool,
                               lookback_days: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(deployment days per week, whether the week had one, the month of each week's start)."""
        days = self.calendar(lookback_days)
        deployed_days = set((self.deploy_t[self.deploy_in] // NS_PER_DAY).tolist())
        weekday = (days + _THURSDAY_EPOCH_WEEKDAY) % 7  # Monday = 0
        offset = weekday if week_starts_monday else (weekday + 1) % 7
        week = days - offset
        weeks, inverse = np.unique(week, return_inverse=True)
        hit = np.array([d in deployed_days for d in days.tolist()], dtype=int)
        per_week = np.bincount(inverse, weights=hit, minlength=len(weeks)).astype(int)
        months = _month_of(weeks)
        return per_week, (per_week > 0).astype(int), months

    def monthly_deployment_days(self, lookback_days: int | None = None) -> np.ndarray:
        days = self.calendar(lookback_days)
        deployed_days = set((self.deploy_t[self.deploy_in] // NS_PER_DAY).tolist())
        months = _month_of(days)
        hit = np.array([d in deployed_days for d in days.tolist()], dtype=int)
        _, inverse = np.unique(months, return_inverse=True)
        return np.bincount(inverse, weights=hit).astype(int)


def _month_of(days: np.ndarray) -> np.ndarray:
    """Calendar month (as a number since 1970-01) of each day number since the epoch."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _result(logs: _Logs, convention: str, metrics: dict[str, float | None], counts: dict[str, int],
            benchmark: str, details: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    bands = bands_for(metrics, benchmark)
    if "band_overrides" in details:
        bands.update(details.pop("band_overrides"))
        bands["overall"] = overall_band({k: v for k, v in bands.items() if k != "overall"})
    if logs.empty:
        warnings = ["the logs hold no timestamps; the window is empty and nothing is scored", *warnings]
    return {"convention": convention, "window_days": logs.window_days, "metrics": metrics, "bands": bands,
            "counts": counts, "details": details, "warnings": warnings}


# ---------------------------------------------------------------------------------------------
# Four Keys


def _fourkeys_frequency(logs: _Logs) -> tuple[float | None, dict[str, Any]]:
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
    return days_median / 7, {"deployment_days_per_week_median": days_median, "weeks": len(per_week),
                             "deployment_frequency_label": label,
                             "band_overrides": {"deployment_frequency": FOURKEYS_FREQUENCY_BANDS[label]}}


def _fourkeys_bucket(hours: float | None) -> str | None:
    if hours is None:
        return None
    for limit, name in ((24, "One day"), (168, "One week"), (730, "One month"), (730 * 6, "Six months")):
        if hours < limit:
            return name
    return "One year"


def _fourkeys_first_listing(logs: _Logs) -> dict[str, int]:
    """Change id → time of the earliest deployment listing it (the root cause's deployment)."""
    first: dict[str, int] = {}
    for row, change in zip(logs.listed_row.tolist(), logs.listed_ids, strict=True):
        t = int(logs.deploy_t[row])
        first[change] = min(first.get(change, t), t)
    return first


def fourkeys(changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame, *, start: Any = None,
             end: Any = None, benchmark: str = "2023") -> dict[str, Any]:
    logs = _Logs(changes, deployments, incidents, start, end)
    frequency, details = _fourkeys_frequency(logs)
    warnings: list[str] = []

    pair_in = logs.deploy_in[logs.listed_row]
    minutes = []
    for row, change in zip(logs.listed_row[pair_in].tolist(), [c for c, k in zip(logs.listed_ids, pair_in, strict=True) if k],
                           strict=True):
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
    restore = [int((logs.resolved_t[i] - opened[i]) // NS_PER_HOUR) for i in np.flatnonzero(counted & logs.resolved)]
    ttr = median_or_none(np.array(restore, dtype=float))
    metrics = {"deployment_frequency_per_day": frequency, "lead_time_hours": None if lead is None else lead / 60,
               "change_failure_rate": cfr, "time_to_restore_hours": ttr, "rework_rate": None}
    details.update({
        "lead_time_pairs": len(minutes), "lead_time_label": _fourkeys_bucket(metrics["lead_time_hours"]),
        "failure_matches": matches, "deployments_with_changes": len(rows_with_changes),
        "change_failure_rate_label": None if cfr is None else
        ("0-15%" if cfr <= 0.15 else "16-45%" if cfr < 0.46 else "46-60%"),
        "time_to_restore_label": _fourkeys_bucket(ttr), "resolved_incidents": len(restore),
    })
    counts = {"changes": len({c for c, k in zip(logs.listed_ids, pair_in, strict=True) if k}),
              "deployments": int(logs.deploy_in.sum()), "incidents": int(counted.sum()),
              "undeployed_changes": 0}
    return _result(logs, "fourkeys", metrics, counts, benchmark, details, warnings)


# ---------------------------------------------------------------------------------------------
# DevLake


def _devlake_attach(logs: _Logs) -> np.ndarray:
    """Row of the last deployment created strictly before each incident opened; -1 if none."""
    order = np.lexsort((np.arange(len(logs.deploy_t)), logs.deploy_t))
    times = logs.deploy_t[order]
    cut = np.searchsorted(times, logs.incident_t, side="left")
    return np.where(cut > 0, order[np.maximum(cut - 1, 0)], -1) if len(times) else np.full(len(logs.incident_t), -1)


def devlake(changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame, *, start: Any = None,
            end: Any = None, benchmark: str = "2023") -> dict[str, Any]:
    logs = _Logs(changes, deployments, incidents, start, end)
    details: dict[str, Any] = {}
    frequency = None
    if not logs.empty:
        per_week, _, _ = logs.weekly_deployment_days(week_starts_monday=True, lookback_days=DEVLAKE_LOOKBACK_DAYS)
        per_month = logs.monthly_deployment_days(lookback_days=DEVLAKE_LOOKBACK_DAYS)
        calendar = logs.calendar(DEVLAKE_LOOKBACK_DAYS)
        week_median, month_median = lower_median(per_week), lower_median(per_month)
        assert week_median is not None and month_median is not None
        frequency = week_median / 7
        band = ("elite" if week_median >= 7 else "high" if week_median >= 1 else
                "medium" if month_median >= 1 else "low")
        label = (f"{week_median:g} deployment days per week" if band in ("elite", "high")
                 else f"{month_median:g} deployment days per month")
        details.update({"deployment_days_per_week_median": week_median, "deployment_frequency_label": label,
                        "deployment_days_per_month_median": month_median, "weeks": len(per_week),
                        "deployment_frequency_days": len(calendar),
                        "deployment_frequency_from": str(calendar[0].astype("datetime64[D]")),
                        "band_overrides": {"deployment_frequency": band}})

    first = logs.first_deployment()
    very_first = int(np.lexsort((np.arange(len(logs.deploy_t)), logs.deploy_t))[0]) if len(logs.deploy_t) else -1
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
    restore = [int((logs.resolved_t[i] - logs.deploy_t[attached[i]]) // NS_PER_MINUTE)
               for i in range(len(attached)) if attached[i] >= 0 and resolved_in[i] and logs.deploy_in[attached[i]]]
    ttr = lower_median(np.array(restore, dtype=float))
    metrics = {"deployment_frequency_per_day": frequency, "lead_time_hours": None if lead is None else lead / 60,
               "change_failure_rate": cfr, "time_to_restore_hours": None if ttr is None else ttr / 60,
               "rework_rate": None}
    details.update({"lead_time_changes": len(minutes), "changes_dropped_first_deployment": dropped_first,
                    "incidents_attached": int((attached >= 0).sum()), "failed_deployments": len(failed),
                    "resolved_incidents": len(restore)})
    counts = {"changes": len(minutes) + dropped_first, "deployments": n_deploys,
              "incidents": int(logs.inside(logs.incident_t).sum()), "undeployed_changes": 0}
    return _result(logs, "devlake", metrics, counts, benchmark, details, [])


# ---------------------------------------------------------------------------------------------
# Entry points


def score_convention(changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame, *,
                     convention: str = "dora", start: Any = None, end: Any = None,
                     benchmark: str | int = "2023") -> dict[str, Any]:
    """The ``score`` document under one convention; ``all`` gives ``{convention: document}``."""
    check_convention(convention)
    bench = check_benchmark(benchmark)
    if convention == "all":
        return {name: score_convention(changes, deployments, incidents, convention=name, start=start, end=end,
                                       benchmark=bench) for name in CONVENTIONS}
    if convention == "dora":
        return dict(score(changes, deployments, incidents, start=start, end=end, benchmark=bench))
    run = fourkeys if convention == "fourkeys" else devlake
    return run(changes, deployments, incidents, start=start, end=end, benchmark=bench)


def score_logs_convention(logs: EventLogs, **kwargs: Any) -> dict[str, Any]:
    return score_convention(logs.changes, logs.deployments, logs.incidents, **kwargs)


# ---------------------------------------------------------------------------------------------
# Per team


MAX_TEAMS = 1000  # teams ``score --by team`` scores one by one (docs/cli.md)


def _team_column(frame: pd.DataFrame) -> pd.Series:
    return frame["team"].astype(str).str.strip()


def team_values(logs: EventLogs) -> list[str]:
    """The teams named in all three files (sorted numerically when they are numbers), at most :data:`MAX_TEAMS`."""
    for kind, frame in logs.frames().items():
        if "team" not in frame.columns:
            raise InputError(f"--by team: {kind}.csv has no team column")
    values: set[str] = set()
    for frame in logs.frames().values():
        values.update(_team_column(frame).unique().tolist())
        if len(values) > MAX_TEAMS + 1:
            break
    values.discard("")
    if len(values) > MAX_TEAMS:
        raise InputError(f"--by team: the logs name more than {MAX_TEAMS} teams; --by team scores at most "
                         f"{MAX_TEAMS} (score the organisation without --by, or group the teams)")
    return sorted(values, key=_team_order)


def _team_order(text: str) -> tuple[int, float, str]:
    number = _finite_number(text)
    return (0, number, text) if number is not None else (1, 0.0, text)


def _finite_number(text: str) -> float | None:
    if len(text) > 40:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def team_logs(logs: EventLogs, team: str) -> EventLogs:
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[_team_column(frame) == team].reset_index(drop=True)

    return EventLogs(pick(logs.changes), pick(logs.deployments), pick(logs.incidents))


def split_by_team(logs: EventLogs, teams: list[str]) -> dict[str, EventLogs]:
    """Every team's rows, grouping each file once (not once per team)."""
    parts: list[dict[str, pd.DataFrame]] = []
    for frame in (logs.changes, logs.deployments, logs.incidents):
        groups = {str(key): rows.reset_index(drop=True) for key, rows in frame.groupby(_team_column(frame), sort=False)}
        parts.append(groups)
    out = {}
    for team in teams:
        frames = [groups.get(team, frame.iloc[:0].reset_index(drop=True))
                  for groups, frame in zip(parts, (logs.changes, logs.deployments, logs.incidents), strict=True)]
        out[team] = EventLogs(*frames)
    return out


def pooled_window(logs: EventLogs, start: Any = None, end: Any = None) -> tuple[Any, Any]:
    """The window the pooled logs score over, so every team is scored over the same days."""
    cols = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    window = resolve_window(cols.window_timestamps(), start, end)
    return (window[0], window[1]) if window else (start, end)


def score_by_team(logs: EventLogs, *, convention: str = "dora", start: Any = None, end: Any = None,
                  benchmark: str | int = "2023") -> dict[str, Any]:
    """The pooled score plus ``teams``: each team's rows scored over the pooled window."""
    teams = team_values(logs)
    pooled = score_logs_convention(logs, convention=convention, start=start, end=end, benchmark=benchmark)
    team_start, team_end = pooled_window(logs, start, end)
    names = CONVENTIONS if convention == "all" else (convention,)
    per_team = {name: [] for name in names}  # type: dict[str, list[dict[str, Any]]]
    for team, rows in split_by_team(logs, teams).items():
        result = score_logs_convention(rows, convention=convention, start=team_start, end=team_end,
                                       benchmark=benchmark)
        for name in names:
            per_team[name].append({"team": _team_value(team), **(result[name] if convention == "all" else result)})
    if convention == "all":
        return {name: {**pooled[name], "teams": per_team[name]} for name in names}
    return {**pooled, "teams": per_team[convention]}


def _team_value(team: str) -> int | str:
    """A team number as a JSON number (plain ASCII digits, at most 18 of them), any other name as text."""
    return int(team) if team.isascii() and team.isdigit() and len(team) <= 18 else team
