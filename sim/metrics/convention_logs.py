"""The three logs as the scoring conventions read them (:mod:`sim.metrics.conventions`): numeric columns
with their ids, the window, calendars of deployment days, and the shape of a convention's result."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics.bands import bands_for, overall_band
from sim.metrics.scoring import NS_PER_DAY, columns_from_frames, resolve_window, window_length_days

NS_PER_MINUTE = 60 * 10**9
_THURSDAY_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


class ConventionLogs:
    """Numeric columns of the three logs plus the window, as the conventions need them."""

    def __init__(
        self, changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame, start: Any, end: Any
    ):
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
        root = (
            incidents["root_cause"]
            if "root_cause" in incidents.columns
            else pd.Series("", index=incidents.index)
        )
        self.root_cause = [
            ("" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v).strip()) for v in root
        ]
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

    def weekly_deployment_days(
        self, week_starts_monday: bool, lookback_days: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(deployment days per week, whether the week had one, the month of each week's start)."""
        days = self.calendar(lookback_days)
        deployed_days = set((self.deploy_t[self.deploy_in] // NS_PER_DAY).tolist())
        weekday = (days + _THURSDAY_EPOCH_WEEKDAY) % 7  # Monday = 0
        offset = weekday if week_starts_monday else (weekday + 1) % 7
        week = days - offset
        weeks, inverse = np.unique(week, return_inverse=True)
        hit = np.array([d in deployed_days for d in days.tolist()], dtype=int)
        per_week = np.bincount(inverse, weights=hit, minlength=len(weeks)).astype(int)
        months = month_of(weeks)
        return per_week, (per_week > 0).astype(int), months

    def monthly_deployment_days(self, lookback_days: int | None = None) -> np.ndarray:
        days = self.calendar(lookback_days)
        deployed_days = set((self.deploy_t[self.deploy_in] // NS_PER_DAY).tolist())
        months = month_of(days)
        hit = np.array([d in deployed_days for d in days.tolist()], dtype=int)
        _, inverse = np.unique(months, return_inverse=True)
        return np.bincount(inverse, weights=hit).astype(int)


def month_of(days: np.ndarray) -> np.ndarray:
    """Calendar month (as a number since 1970-01) of each day number since the epoch."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def convention_result(
    logs: ConventionLogs,
    convention: str,
    metrics: dict[str, float | None],
    counts: dict[str, int],
    benchmark: str,
    details: dict[str, Any],
    warnings: list[str],
) -> dict[str, Any]:
    bands = bands_for(metrics, benchmark)
    if "band_overrides" in details:
        bands.update(details.pop("band_overrides"))
        bands["overall"] = overall_band({k: v for k, v in bands.items() if k != "overall"})
    if logs.empty:
        warnings = ["the logs hold no timestamps; the window is empty and nothing is scored", *warnings]
    return {
        "convention": convention,
        "window_days": logs.window_days,
        "metrics": metrics,
        "bands": bands,
        "counts": counts,
        "details": details,
        "warnings": warnings,
    }
